// What an upload is and what it becomes: verifying it against its declaration, and
// converting it by kind into metadata, renditions in the private bucket and search text.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Asset } from '../../db/models/Asset';
import type { Db } from '../../lib/db';
import { ConversionError, type ConversionFailureReason, type Converter } from '../../providers/converter';
import type { Storage } from '../../providers/storage';
import type { AssetKind } from '../../schemas/assets';
import { renditionKey, sourceKey } from './keys';
import { saveSearchText, type AssetBuckets, type ConversionOutput, type StoredRendition } from './ingestion';

export interface ConversionDeps {
  db: Db;
  storage: Storage;
  converter: Converter;
  buckets: AssetBuckets;
}

/** The content is bad (a business outcome, never retried); a retryable provider failure is not this. */
export class InvalidContentError extends Error {}


export async function withSourceFile<T>(storage: Storage, buckets: AssetBuckets, asset: Asset, use: (filePath: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `asset-${asset.id}-`));
  try {
    const filePath = path.join(dir, `upload${path.extname(asset.filename).toLowerCase()}`);
    await storage.download(buckets.private, sourceKey(asset), filePath);
    return await use(filePath);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The upload's server-only copy must be there, of the declared size, checksum (when given) and kind. */
export async function verifyUpload(deps: ConversionDeps, asset: Asset): Promise<{ kind: AssetKind; sizeBytes: number }> {
  const sizeBytes = await checkSourceObject(deps, asset);
  const kind = await withSourceFile(deps.storage, deps.buckets, asset, (filePath) => checkSourceFile(deps, asset, filePath));
  return { kind, sizeBytes };
}

/** The server-only copy is there and of the declared size (a HEAD, before anything is downloaded); answers its size. */
export async function checkSourceObject({ storage, buckets }: ConversionDeps, asset: Asset): Promise<number> {
  const head = await storage.head(buckets.private, sourceKey(asset));
  if (!head) throw new InvalidContentError('the uploaded object is missing');
  if (head.sizeBytes !== Number(asset.sizeBytes)) {
    throw new InvalidContentError(`size mismatch: declared ${asset.sizeBytes} bytes, uploaded ${head.sizeBytes}`);
  }
  return head.sizeBytes;
}

/** The downloaded copy has the declared checksum (when given) and kind; answers the kind. */
export async function checkSourceFile({ converter }: ConversionDeps, asset: Asset, filePath: string): Promise<AssetKind> {
  const detected = await converter.detectKind(filePath);
  const checksum = asset.checksumSha256 ? await sha256File(filePath) : null;
  if (checksum && checksum !== asset.checksumSha256) throw new InvalidContentError('checksum mismatch');
  if (detected !== asset.kind) {
    throw new InvalidContentError(`content does not match the declared type: declared ${asset.kind}, found ${detected}`);
  }
  return detected;
}

/** Which attempt at converting a file this is, of how many it gets. */
export interface AttemptBudget {
  attempt: number;
  maxAttempts: number;
}

/** What a file can do to a converter again and again: hang it or crash it (a missing tool or a cancel is not the file). */
const POISON_REASONS: ReadonlySet<ConversionFailureReason> = new Set(['timeout', 'tool_crashed']);

/**
 * Converts the upload by its kind. A converter's non-retryable failure is invalid content, and
 * so is a hang or crash on the last attempt the file gets: a poison file fails the asset, not the worker.
 */
export async function convertUpload(deps: ConversionDeps, asset: Asset, signal: AbortSignal, budget: AttemptBudget): Promise<ConversionOutput> {
  return withSourceFile(deps.storage, deps.buckets, asset, (filePath) => convertSourceFile(deps, asset, filePath, signal, budget));
}

/** `convertUpload` of a copy already downloaded to `filePath`; LibreOffice writes its PDF beside it. */
export async function convertSourceFile(
  deps: ConversionDeps,
  asset: Asset,
  filePath: string,
  signal: AbortSignal,
  budget: AttemptBudget,
): Promise<ConversionOutput> {
  try {
    return await convertByKind(deps, asset, filePath, signal);
  } catch (err) {
    if (!(err instanceof ConversionError)) throw err;
    if (!err.retryable) throw new InvalidContentError(err.message);
    if (POISON_REASONS.has(err.reason) && budget.attempt >= budget.maxAttempts) {
      throw new InvalidContentError(`${err.message} (attempt ${budget.attempt} of ${budget.maxAttempts})`);
    }
    throw err;
  }
}

async function convertByKind(deps: ConversionDeps, asset: Asset, filePath: string, signal: AbortSignal): Promise<ConversionOutput> {
  const { db, converter } = deps;
  switch (asset.kind) {
    case 'pdf':
      return convertPdf(deps, asset, filePath, signal);
    case 'pptx':
    case 'docx': {
      const pdfPath = await converter.officeToPdf(filePath, path.dirname(filePath), { signal });
      const converted = await convertPdf(deps, asset, pdfPath, signal);
      const pdf = await storeRendition(deps, asset.id, 'pdf', 'application/pdf', await readFile(pdfPath), 'document.pdf');
      return { ...converted, renditions: [pdf, ...converted.renditions] };
    }
    case 'epub': {
      const epub = await converter.inspectEpub(await readFile(filePath));
      await saveSearchText(db, asset.id, epub.title, [epub.title ?? '', ...epub.authors].join(' '));
      return {
        metadata: { title: epub.title ?? undefined, authors: epub.authors, chapterCount: epub.chapterCount, spine: epub.spine },
        renditions: [],
      };
    }
    case 'png':
    case 'jpeg': {
      const images = await converter.imageRenditions(await readFile(filePath));
      const renditions: StoredRendition[] = [];
      for (const r of images.renditions) {
        const ext = r.contentType === 'image/png' ? 'png' : 'jpg';
        renditions.push(await storeRendition(deps, asset.id, r.name, r.contentType, r.buffer, `${r.name}.${ext}`));
      }
      return { metadata: { width: images.width, height: images.height }, renditions };
    }
    case 'csv': {
      const csv = await converter.inspectCsv(await readFile(filePath));
      await saveSearchText(db, asset.id, null, csv.columns.join(' '));
      return { metadata: { rowCount: csv.rowCount, columns: csv.columns }, renditions: [] };
    }
  }
}

async function convertPdf(deps: ConversionDeps, asset: Asset, pdfPath: string, signal: AbortSignal): Promise<ConversionOutput> {
  const { pageCount, text } = await deps.converter.inspectPdf(pdfPath, { signal });
  await saveSearchText(deps.db, asset.id, null, text);
  const png = await deps.converter.pdfThumbnail(pdfPath, { signal });
  const thumbnail = await storeRendition(deps, asset.id, 'thumbnail', 'image/png', png, 'thumbnail.png');
  return { metadata: { pageCount }, renditions: [thumbnail] };
}

async function storeRendition(
  { storage, buckets }: ConversionDeps,
  assetId: string,
  name: string,
  contentType: string,
  body: Buffer,
  fileName: string,
): Promise<StoredRendition> {
  const key = renditionKey(assetId, fileName);
  await storage.put(buckets.private, key, body, { contentType });
  return { name, contentType, sizeBytes: body.length, key };
}

async function sha256File(filePath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(filePath)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
