// S3-compatible object storage (SeaweedFS or MinIO locally, AWS S3 in production).
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CopyObjectCommand,
  DeleteBucketCorsCommand,
  DeleteObjectCommand,
  GetBucketLifecycleConfigurationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketCorsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';

export interface StorageSettings {
  endpoint: string;
  /** Host clients use to reach storage when it differs from ours; presigned URLs are signed for it. */
  publicEndpoint?: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle: boolean;
  /** Connection timeout, and the longest a request may sit idle without a byte moving. */
  timeoutMs: number;
}

export interface PresignedUpload {
  url: string;
  method: 'PUT';
  headers: { 'Content-Type': string };
  expiresAt: string;
}

export interface PresignedDownload {
  url: string;
  expiresAt: string;
}

export interface ObjectHead {
  sizeBytes: number;
  contentType: string | null;
  /** User metadata (`x-amz-meta-*`), keys lowercase. */
  metadata: Record<string, string>;
}

export interface ListedObject {
  key: string;
  sizeBytes: number;
  lastModified: Date;
}

export interface PresignPutOptions {
  contentType: string;
  ttlSeconds: number;
  contentLength?: number;
}

export interface Storage {
  /** With `contentLength`, a PUT of any other length is refused (the length is signed). */
  presignPut(bucket: string, key: string, options: PresignPutOptions): Promise<PresignedUpload>;
  /** The download is served as an attachment named `filename`. */
  presignGet(bucket: string, key: string, options: { ttlSeconds: number; filename: string }): Promise<PresignedDownload>;
  /** null when the object does not exist. */
  head(bucket: string, key: string): Promise<ObjectHead | null>;
  /** The first `bytes` bytes (fewer when the object is shorter). */
  readRange(bucket: string, key: string, bytes: number): Promise<Buffer>;
  download(bucket: string, key: string, filePath: string): Promise<void>;
  getBuffer(bucket: string, key: string): Promise<Buffer>;
  put(
    bucket: string,
    key: string,
    body: Buffer | Readable,
    options: { contentType: string; metadata?: Record<string, string> },
  ): Promise<void>;
  copy(srcBucket: string, srcKey: string, dstBucket: string, dstKey: string): Promise<void>;
  /** Succeeds when the object is already gone. */
  remove(bucket: string, key: string): Promise<void>;
  list(bucket: string, prefix: string): AsyncIterable<ListedObject>;
  ping(bucket: string): Promise<void>;
  /** Lets browsers from `origins` PUT to presigned URLs of `bucket` (no origins: no CORS at all). */
  allowBrowserUploads(bucket: string, origins: readonly string[], maxAgeSeconds: number): Promise<void>;
  /** Every object of `bucket` expires `days` after it was written (the bucket's one lifecycle rule). */
  expireAfterDays(bucket: string, days: number): Promise<void>;
  /** The expiry `expireAfterDays` set on `bucket`, or null when it has none. */
  expiryDays(bucket: string): Promise<number | null>;
  /** Closes pooled connections. */
  close(): void;
}

const EXPIRY_RULE = 'expire-objects';
const MULTIPART_PART_BYTES = 8 * 1024 * 1024;
const MULTIPART_CONCURRENCY = 4;

export function createStorage(settings: StorageSettings): Storage {
  const client = new S3Client(clientConfig(settings, settings.endpoint));
  // Presigning is local computation; this client only lends its endpoint to the URLs.
  const presigner = settings.publicEndpoint ? new S3Client(clientConfig(settings, settings.publicEndpoint)) : client;

  async function presignPut(bucket: string, key: string, options: PresignPutOptions) {
    const signingDate = new Date();
    const command = new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: options.contentType, ContentLength: options.contentLength });
    const url = await getSignedUrl(presigner, command, {
      expiresIn: options.ttlSeconds,
      signingDate,
      // A client that sends another type or length than the one it declared gets 403.
      signableHeaders: new Set(options.contentLength === undefined ? ['content-type'] : ['content-type', 'content-length']),
    });
    return {
      url,
      method: 'PUT' as const,
      headers: { 'Content-Type': options.contentType },
      expiresAt: expiry(signingDate, options.ttlSeconds),
    };
  }

  async function presignGet(bucket: string, key: string, options: { ttlSeconds: number; filename: string }) {
    const signingDate = new Date();
    const command = new GetObjectCommand({
      Bucket: bucket,
      Key: key,
      ResponseContentDisposition: attachmentDisposition(options.filename),
    });
    const url = await getSignedUrl(presigner, command, { expiresIn: options.ttlSeconds, signingDate });
    return { url, expiresAt: expiry(signingDate, options.ttlSeconds) };
  }

  async function head(bucket: string, key: string): Promise<ObjectHead | null> {
    try {
      const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return { sizeBytes: out.ContentLength ?? 0, contentType: out.ContentType ?? null, metadata: out.Metadata ?? {} };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async function readRange(bucket: string, key: string, bytes: number): Promise<Buffer> {
    if (bytes <= 0) return Buffer.alloc(0);
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=0-${bytes - 1}` }));
      // A server ignoring Range sends everything; keep the promise of at most `bytes`.
      return Buffer.from(await bodyOf(out.Body).transformToByteArray()).subarray(0, bytes);
    } catch (err) {
      // An empty object has no byte 0 to start a range at.
      if (errorName(err) === 'InvalidRange') return Buffer.alloc(0);
      throw err;
    }
  }

  async function download(bucket: string, key: string, filePath: string): Promise<void> {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    await pipeline(bodyOf(out.Body) as unknown as Readable, createWriteStream(filePath));
  }

  async function getBuffer(bucket: string, key: string): Promise<Buffer> {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await bodyOf(out.Body).transformToByteArray());
  }

  async function put(
    bucket: string,
    key: string,
    body: Buffer | Readable,
    options: { contentType: string; metadata?: Record<string, string> },
  ): Promise<void> {
    const params = { Bucket: bucket, Key: key, ContentType: options.contentType, Metadata: options.metadata };
    if (Buffer.isBuffer(body)) {
      await client.send(new PutObjectCommand({ ...params, Body: body, ContentLength: body.length }));
      return;
    }
    // A stream has no known length: multipart upload, part by part.
    await new Upload({
      client,
      params: { ...params, Body: body },
      partSize: MULTIPART_PART_BYTES,
      queueSize: MULTIPART_CONCURRENCY,
      leavePartsOnError: false,
    }).done();
  }

  async function copy(srcBucket: string, srcKey: string, dstBucket: string, dstKey: string): Promise<void> {
    await client.send(
      new CopyObjectCommand({ Bucket: dstBucket, Key: dstKey, CopySource: copySource(srcBucket, srcKey) }),
    );
  }

  async function remove(bucket: string, key: string): Promise<void> {
    try {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async function* list(bucket: string, prefix: string): AsyncIterable<ListedObject> {
    let continuationToken: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: continuationToken }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined) continue;
        yield { key: object.Key, sizeBytes: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0) };
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
  }

  async function ping(bucket: string): Promise<void> {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  }

  function close(): void {
    client.destroy();
    if (presigner !== client) presigner.destroy();
  }

  async function allowBrowserUploads(bucket: string, origins: readonly string[], maxAgeSeconds: number): Promise<void> {
    if (origins.length === 0) {
      await client.send(new DeleteBucketCorsCommand({ Bucket: bucket }));
      return;
    }
    const rule = { AllowedOrigins: [...origins], AllowedMethods: ['PUT'], AllowedHeaders: ['*'], ExposeHeaders: ['ETag'], MaxAgeSeconds: maxAgeSeconds };
    await client.send(new PutBucketCorsCommand({ Bucket: bucket, CORSConfiguration: { CORSRules: [rule] } }));
  }

  async function expireAfterDays(bucket: string, days: number): Promise<void> {
    const rule = { ID: EXPIRY_RULE, Status: 'Enabled' as const, Filter: { Prefix: '' }, Expiration: { Days: days } };
    await client.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: [rule] } }));
  }

  async function expiryDays(bucket: string): Promise<number | null> {
    try {
      const out = await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
      return out.Rules?.find((r) => r.ID === EXPIRY_RULE && r.Status === 'Enabled')?.Expiration?.Days ?? null;
    } catch (err) {
      if (errorName(err) === 'NoSuchLifecycleConfiguration') return null;
      throw err;
    }
  }

  return {
    presignPut, presignGet, head, readRange, download, getBuffer, put, copy, remove, list, ping, allowBrowserUploads, expireAfterDays, expiryDays, close,
  };
}

function clientConfig(settings: StorageSettings, endpoint: string): S3ClientConfig {
  return {
    endpoint,
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    // Gateways other than AWS reject the CRC32 checksums the SDK adds by default, presigned PUTs included.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Options for the SDK's NodeHttpHandler; requestTimeout is a socket idle timeout, so big transfers are fine.
    requestHandler: { connectionTimeout: settings.timeoutMs, requestTimeout: settings.timeoutMs },
  };
}

/**
 * `attachment` with an ASCII `filename` for old clients and the exact name in
 * RFC 5987 `filename*` (RFC 6266 §4.3). Quotes, backslashes, path separators
 * and control characters never reach the header.
 */
export function attachmentDisposition(filename: string): string {
  const name = filename.replace(/\p{Cc}/gu, '').replace(/[/\\]/g, '_').trim() || 'download';
  const asciiName = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]|["%]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${asciiName}"; filename*=UTF-8''${encoded}`;
}

/** CopySource is `bucket/key`, URL-encoded, with the key's slashes kept. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

function expiry(signingDate: Date, ttlSeconds: number): string {
  return new Date(signingDate.getTime() + ttlSeconds * 1000).toISOString();
}

function bodyOf<T>(body: T | undefined): T {
  if (body === undefined) throw new Error('S3 returned no body');
  return body;
}

function errorName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

function isNotFound(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return status === 404 || errorName(err) === 'NotFound' || errorName(err) === 'NoSuchKey';
}
