// Creates the platform's S3 buckets idempotently and checks that the gateway accepts writes.
// Run by `scripts/stack.sh start` (`npx tsx scripts/buckets.ts`) against S3_ENDPOINT (SeaweedFS locally).
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { config } from '../lib/config';
import { createStorageFromConfig } from '../providers';

const UPLOAD_EXPIRY_DAYS = 1;
const DEADLINE_MS = 60_000; // a gateway that has just started may refuse writes until its volumes exist
const FATAL = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidBucketName']);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function errorName(err: unknown): string {
  return err instanceof S3ServiceException || err instanceof Error ? err.name : String(err);
}

async function createBucket(s3: S3Client, bucket: string, region: string): Promise<'created' | 'exists'> {
  try {
    await s3.send(
      new CreateBucketCommand({
        Bucket: bucket,
        ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
      }),
    );
    return 'created';
  } catch (err) {
    if (errorName(err) === 'BucketAlreadyOwnedByYou' || errorName(err) === 'BucketAlreadyExists') return 'exists';
    throw err;
  }
}

/** Writes and deletes a probe object: a gateway that answers but cannot store yet is not ready. */
async function probeWrite(s3: S3Client, bucket: string): Promise<void> {
  const Key = `.stack-probe/${process.pid}`;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'ok', ContentType: 'text/plain' }));
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key }));
}

/**
 * The upload bucket's rules: the API's allow-listed origins may PUT to presigned URLs (SPEC §3),
 * and what lands there expires after a day (ingestion copies it out at once; abandoned uploads go).
 */
async function configureUploads(cfg: ReturnType<typeof config>): Promise<void> {
  const storage = createStorageFromConfig(cfg);
  try {
    await storage.allowBrowserUploads(cfg.S3_BUCKET_UPLOADS, cfg.CORS_ALLOWED_ORIGINS, cfg.CORS_MAX_AGE_SECONDS);
    await storage.expireAfterDays(cfg.S3_BUCKET_UPLOADS, UPLOAD_EXPIRY_DAYS);
  } finally {
    storage.close();
  }
}

async function main(): Promise<void> {
  const cfg = config();
  const s3 = new S3Client({
    endpoint: cfg.S3_ENDPOINT,
    region: cfg.S3_REGION,
    forcePathStyle: cfg.S3_FORCE_PATH_STYLE,
    credentials: { accessKeyId: cfg.S3_ACCESS_KEY_ID, secretAccessKey: cfg.S3_SECRET_ACCESS_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000 },
    maxAttempts: 1,
  });
  const buckets = [cfg.S3_BUCKET_UPLOADS, cfg.S3_BUCKET_PRIVATE, cfg.S3_BUCKET_QUARANTINE, cfg.TELEMETRY_EXPORT_BUCKET];
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    try {
      const outcomes: string[] = [];
      for (const bucket of buckets) outcomes.push(`${bucket} (${await createBucket(s3, bucket, cfg.S3_REGION)})`);
      await probeWrite(s3, cfg.S3_BUCKET_UPLOADS);
      await configureUploads(cfg);
      console.log(`  s3        buckets ${outcomes.join(', ')}; writes ok; uploads expire after ${UPLOAD_EXPIRY_DAYS} day`);
      return;
    } catch (err) {
      const name = errorName(err);
      if (FATAL.has(name) || Date.now() > deadline) {
        throw new Error(`S3 at ${cfg.S3_ENDPOINT}: ${name}: ${err instanceof Error ? err.message : String(err)}`);
      }
      await sleep(1_000);
    }
  }
}

main().catch((err: unknown) => {
  console.error(`buckets: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
