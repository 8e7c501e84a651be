// Activities of the asset conversion process. Each one is safe to retry:
// object keys are deterministic, rows are upserted, events are keyed by run and step.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Db } from '../lib/db';
import { Asset, AssetIngestionEvent, AssetRendition } from '../db/models/Asset';
import type { AssetConversionInput, AssetKind, AssetMetadata, Rendition, ScanResult } from '../schemas/assets';
import type { Storage } from '../providers/storage';
import { ConversionError, type Converter } from '../providers/converter';
import type { Scanner } from '../providers/scanner';
import type { SearchIndex } from '../providers/search';
import { INVALID_CONTENT_FAILURE } from '../workflows/assetConversion.contract';
import { currentRun, whileHeartbeating } from './context';

export interface AssetBuckets {
  uploads: string;
  private: string;
  quarantine: string;
}

export interface AssetActivityDeps {
  db: Db;
  storage: Storage;
  converter: Converter;
  scanner: Scanner;
  search: SearchIndex;
  buckets: AssetBuckets;
}

export interface StoredRendition extends Rendition {
  key: string;
}

export interface ConversionOutput {
  metadata: AssetMetadata;
  renditions: StoredRendition[];
}

/** Bad content is a business outcome: not retried, recorded, and the run completes. */
const invalidContent = (message: string) => ApplicationFailure.nonRetryable(message, INVALID_CONTENT_FAILURE);

export const renditionKey = (assetId: string, fileName: string) => `assets/${assetId}/${fileName}`;

export function createAssetActivities(deps: AssetActivityDeps) {
  const { db, storage, converter, scanner, search, buckets } = deps;

  async function loadAsset(assetId: string): Promise<Asset> {
    const asset = await Asset.query(db).findById(assetId);
    if (!asset) throw ApplicationFailure.nonRetryable(`asset ${assetId} does not exist`, 'AssetNotFound');
    return asset;
  }

  /** Appends to the audit trail once per run and step, however often the activity is retried. */
  async function recordEvent(assetId: string, step: string, status: string, detail: Record<string, unknown> = {}) {
    const { workflowId, runId } = currentRun();
    await AssetIngestionEvent.query(db)
      .insert({
        assetId,
        eventKey: `${runId}:${step}`,
        step,
        status,
        detail,
        workflowId,
        runId,
        actor: 'workflow',
      })
      .onConflict(['asset_id', 'event_key'])
      .ignore();
  }

  async function withUploadFile<T>(asset: Asset, use: (filePath: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(path.join(os.tmpdir(), `asset-${asset.id}-`));
    try {
      const filePath = path.join(dir, `upload${path.extname(asset.filename).toLowerCase()}`);
      await storage.download(buckets.uploads, asset.uploadKey, filePath);
      return await use(filePath);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async function startIngestion(input: AssetConversionInput): Promise<void> {
    await Asset.query(db)
      .findById(input.assetId)
      .whereIn('status', ['awaiting_upload', 'processing', 'failed', 'quarantined'])
      .patch({ status: 'processing', failureReason: null, updatedAt: new Date() });
    await recordEvent(input.assetId, 'started', 'ok', { reason: input.reason });
  }

  /** A released false positive goes back to the uploads bucket before it is converted. */
  async function releaseFromQuarantine(assetId: string): Promise<void> {
    const asset = await loadAsset(assetId);
    if (!(await storage.head(buckets.uploads, asset.uploadKey))) {
      await storage.copy(buckets.quarantine, asset.uploadKey, buckets.uploads, asset.uploadKey);
    }
    await storage.remove(buckets.quarantine, asset.uploadKey);
    await recordEvent(assetId, 'released', 'ok');
  }

  async function verifyUpload(assetId: string): Promise<{ kind: AssetKind }> {
    const asset = await loadAsset(assetId);
    const head = await storage.head(buckets.uploads, asset.uploadKey);
    if (!head) throw invalidContent('the uploaded object is missing');
    if (head.sizeBytes !== Number(asset.sizeBytes)) {
      throw invalidContent(`size mismatch: declared ${asset.sizeBytes} bytes, uploaded ${head.sizeBytes}`);
    }
    const { detected, checksum } = await whileHeartbeating(() =>
      withUploadFile(asset, async (filePath) => ({
        detected: await converter.detectKind(filePath),
        checksum: asset.checksumSha256 ? await sha256File(filePath) : null,
      })),
    );
    if (checksum && checksum !== asset.checksumSha256) throw invalidContent('checksum mismatch');
    if (detected !== asset.kind) {
      throw invalidContent(`content does not match the declared type: declared ${asset.kind}, found ${detected}`);
    }
    await recordEvent(assetId, 'verified', 'ok', { sizeBytes: head.sizeBytes, kind: detected });
    return { kind: detected };
  }

  async function scanUpload(assetId: string): Promise<ScanResult> {
    const asset = await loadAsset(assetId);
    const verdict = await whileHeartbeating(() => withUploadFile(asset, (filePath) => scanner.scan(filePath)));
    const scan: ScanResult = { clean: verdict.clean, signature: verdict.signature, engine: verdict.engine, scannedAt: new Date().toISOString() };
    await Asset.query(db).findById(assetId).patch({ scan, updatedAt: new Date() });
    await recordEvent(assetId, 'scanned', scan.clean ? 'clean' : 'infected', { ...scan });
    return scan;
  }

  async function quarantineUpload(assetId: string, signature: string): Promise<void> {
    const asset = await loadAsset(assetId);
    if (await storage.head(buckets.uploads, asset.uploadKey)) {
      await storage.copy(buckets.uploads, asset.uploadKey, buckets.quarantine, asset.uploadKey);
      await storage.remove(buckets.uploads, asset.uploadKey);
    }
    await Asset.query(db).findById(assetId).patch({ status: 'quarantined', updatedAt: new Date() });
    await recordEvent(assetId, 'quarantined', 'infected', { signature, bucket: buckets.quarantine });
  }

  async function convertAsset(assetId: string): Promise<ConversionOutput> {
    const asset = await loadAsset(assetId);
    const output = await whileHeartbeating(() =>
      withUploadFile(asset, async (filePath) => {
        try {
          return await convertByKind(asset, filePath);
        } catch (err) {
          if (err instanceof ConversionError && !err.retryable) throw invalidContent(err.message);
          throw err;
        }
      }),
    );
    await recordEvent(assetId, 'converted', 'ok', {
      renditions: output.renditions.map((r) => r.name),
      metadata: output.metadata,
    });
    return output;
  }

  async function convertByKind(asset: Asset, filePath: string): Promise<ConversionOutput> {
    const control = { signal: Context.current().cancellationSignal };
    switch (asset.kind) {
      case 'pdf':
        return convertPdf(asset, filePath);
      case 'pptx':
      case 'docx': {
        const pdfPath = await converter.officeToPdf(filePath, path.dirname(filePath), control);
        const converted = await convertPdf(asset, pdfPath);
        const pdf = await storeRendition(asset.id, 'pdf', 'application/pdf', await readFile(pdfPath), 'document.pdf');
        return { ...converted, renditions: [pdf, ...converted.renditions] };
      }
      case 'epub': {
        const epub = await converter.inspectEpub(await readFile(filePath));
        await saveSearchText(asset.id, epub.title, [epub.title ?? '', ...epub.authors].join(' '));
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
          renditions.push(await storeRendition(asset.id, r.name, r.contentType, r.buffer, `${r.name}.${ext}`));
        }
        return { metadata: { width: images.width, height: images.height }, renditions };
      }
      case 'csv': {
        const csv = await converter.inspectCsv(await readFile(filePath));
        await saveSearchText(asset.id, null, csv.columns.join(' '));
        return { metadata: { rowCount: csv.rowCount, columns: csv.columns }, renditions: [] };
      }
    }
  }

  async function convertPdf(asset: Asset, pdfPath: string) {
    const control = { signal: Context.current().cancellationSignal };
    const { pageCount, text } = await converter.inspectPdf(pdfPath, control);
    await saveSearchText(asset.id, null, text);
    const thumbnail = await storeRendition(asset.id, 'thumbnail', 'image/png', await converter.pdfThumbnail(pdfPath, control), 'thumbnail.png');
    return { metadata: { pageCount }, renditions: [thumbnail] };
  }

  async function storeRendition(
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

  async function saveSearchText(assetId: string, title: string | null, text: string): Promise<void> {
    await Asset.query(db).findById(assetId).patch({ title, searchText: text, updatedAt: new Date() });
  }

  async function indexAsset(assetId: string): Promise<void> {
    const asset = await loadAsset(assetId);
    await search.index({
      id: asset.id,
      title: asset.title ?? asset.filename,
      filename: asset.filename,
      kind: asset.kind,
      text: asset.searchText ?? '',
    });
    await recordEvent(assetId, 'indexed', 'ok');
  }

  /** Renditions, metadata and the `ready` status land together or not at all. */
  async function completeIngestion(assetId: string, output: ConversionOutput): Promise<void> {
    await db.transaction(async (trx) => {
      for (const r of output.renditions) {
        await AssetRendition.query(trx)
          .insert({ assetId, name: r.name, bucket: buckets.private, key: r.key, contentType: r.contentType, sizeBytes: r.sizeBytes })
          .onConflict(['asset_id', 'name'])
          .merge(['key', 'content_type', 'size_bytes']);
      }
      await Asset.query(trx)
        .findById(assetId)
        .patch({ status: 'ready', metadata: output.metadata, failureReason: null, updatedAt: new Date() });
    });
    await recordEvent(assetId, 'ready', 'ok');
  }

  async function failIngestion(assetId: string, reason: string): Promise<void> {
    await Asset.query(db).findById(assetId).patch({ status: 'failed', failureReason: reason, updatedAt: new Date() });
    await recordEvent(assetId, 'failed', 'failed', { reason });
  }

  return {
    startIngestion,
    releaseFromQuarantine,
    verifyUpload,
    scanUpload,
    quarantineUpload,
    convertAsset,
    indexAsset,
    completeIngestion,
    failIngestion,
  };
}

export type AssetActivities = ReturnType<typeof createAssetActivities>;

async function sha256File(filePath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(filePath)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
