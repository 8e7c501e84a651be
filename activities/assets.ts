// Activities of the asset conversion process: each step calls the assets service and
// providers, heartbeats through the long ones, and turns bad content into the
// non-retryable failure the workflow records. Each one is safe to retry.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Db } from '../lib/db';
import type { Asset } from '../db/models/Asset';
import type { AssetConversionInput, AssetKind, ScanResult } from '../schemas/assets';
import type { Storage } from '../providers/storage';
import type { Converter } from '../providers/converter';
import type { Scanner } from '../providers/scanner';
import type { SearchIndex } from '../providers/search';
import { INVALID_CONTENT_FAILURE, RETRIES_EXHAUSTED_REASON } from '../workflows/assetConversion.contract';
import * as assets from '../services/assets';
import type { AssetBuckets, ConversionOutput } from '../services/assets';
import { currentRun, failingRun, whileHeartbeating } from './context';

export interface AssetActivityDeps {
  db: Db;
  storage: Storage;
  converter: Converter;
  scanner: Scanner;
  search: SearchIndex;
  buckets: AssetBuckets;
}

/** Bad content is a business outcome: not retried, recorded, and the run completes. */
async function failingOnInvalidContent<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof assets.InvalidContentError) throw ApplicationFailure.nonRetryable(err.message, INVALID_CONTENT_FAILURE);
    throw err;
  }
}

export function createAssetActivities(deps: AssetActivityDeps) {
  const { db, storage, scanner, search, buckets } = deps;

  async function loadAsset(assetId: string): Promise<Asset> {
    const asset = await assets.findAsset(db, assetId);
    if (!asset) throw ApplicationFailure.nonRetryable(`asset ${assetId} does not exist`, 'AssetNotFound');
    return asset;
  }

  const recordEvent = (assetId: string, step: string, status: string, detail?: Record<string, unknown>) =>
    assets.recordIngestionEvent(db, { assetId, step, status, detail, ...currentRun() });

  async function startIngestion(input: AssetConversionInput): Promise<void> {
    await assets.beginIngestion(db, input.assetId);
    await recordEvent(input.assetId, 'started', 'ok', { reason: input.reason });
  }

  async function releaseFromQuarantine(assetId: string): Promise<void> {
    const asset = await loadAsset(assetId);
    await assets.moveOutOfQuarantine(storage, buckets, asset.uploadKey);
    await recordEvent(assetId, 'released', 'ok');
  }

  async function verifyUpload(assetId: string): Promise<{ kind: AssetKind }> {
    const asset = await loadAsset(assetId);
    const { kind, sizeBytes } = await failingOnInvalidContent(() => whileHeartbeating(() => assets.verifyUpload(deps, asset)));
    await recordEvent(assetId, 'verified', 'ok', { sizeBytes, kind });
    return { kind };
  }

  async function scanUpload(assetId: string): Promise<ScanResult> {
    const asset = await loadAsset(assetId);
    const verdict = await whileHeartbeating(() => assets.withUploadFile(storage, buckets, asset, (filePath) => scanner.scan(filePath)));
    const scan: ScanResult = { clean: verdict.clean, signature: verdict.signature, engine: verdict.engine, scannedAt: new Date().toISOString() };
    await assets.recordScan(db, assetId, scan);
    await recordEvent(assetId, 'scanned', scan.clean ? 'clean' : 'infected', { ...scan });
    return scan;
  }

  async function quarantineUpload(assetId: string, signature: string): Promise<void> {
    await assets.quarantine(db, storage, buckets, await loadAsset(assetId));
    await recordEvent(assetId, 'quarantined', 'infected', { signature, bucket: buckets.quarantine });
  }

  async function convertAsset(assetId: string): Promise<ConversionOutput> {
    const asset = await loadAsset(assetId);
    const signal = Context.current().cancellationSignal;
    const output = await failingOnInvalidContent(() => whileHeartbeating(() => assets.convertUpload(deps, asset, signal)));
    await recordEvent(assetId, 'converted', 'ok', { renditions: output.renditions.map((r) => r.name), metadata: output.metadata });
    return output;
  }

  async function indexAsset(assetId: string): Promise<void> {
    const asset = await loadAsset(assetId);
    await search.index({ id: asset.id, title: asset.title ?? asset.filename, filename: asset.filename, kind: asset.kind, text: asset.searchText ?? '' });
    await recordEvent(assetId, 'indexed', 'ok');
  }

  async function completeIngestion(assetId: string, output: ConversionOutput): Promise<void> {
    await assets.completeIngestion(db, buckets.private, assetId, output);
    await recordEvent(assetId, 'ready', 'ok');
  }

  async function failIngestion(assetId: string, reason: string): Promise<void> {
    const runFails = reason.startsWith(RETRIES_EXHAUSTED_REASON);
    await assets.failIngestion(db, assetId, reason, runFails ? failingRun(reason) : undefined);
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
