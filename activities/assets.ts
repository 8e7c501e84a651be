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
import { WorkflowNotFoundError } from '@temporalio/client';
import { assetConversionWorkflowId, INVALID_CONTENT_FAILURE, RETRIES_EXHAUSTED_REASON } from '../workflows/assetConversion.contract';
import * as assets from '../services/assets';
import type { AssetBuckets, ConversionOutput } from '../services/assets';
import { currentCall, currentRun, failingRun, whileHeartbeating } from './context';

export interface AssetActivityDeps {
  db: Db;
  storage: Storage;
  converter: Converter;
  scanner: Scanner;
  search: SearchIndex;
  buckets: AssetBuckets;
  /** Attempts a file gets when a converter times out or crashes on it (CONVERTER_MAX_ATTEMPTS). */
  converterMaxAttempts: number;
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

/** What `processUpload` found: the conversion of a clean (or released) upload, or the verdict on an infected one. */
export type ProcessedUpload = { clean: true; output: ConversionOutput } | { clean: false; scan: ScanResult };

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
    // A release restores the quarantined copy; the upload key may hold anything by now.
    if (input.reason === 'upload') await assets.takeUpload(storage, buckets, await loadAsset(input.assetId));
    await recordEvent(input.assetId, 'started', 'ok', { reason: input.reason });
  }

  async function releaseFromQuarantine(assetId: string): Promise<void> {
    await assets.moveOutOfQuarantine(storage, buckets, await loadAsset(assetId));
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
    return whileHeartbeating(() => assets.withSourceFile(storage, buckets, asset, (filePath) => scanFile(assetId, filePath)));
  }

  async function scanFile(assetId: string, filePath: string): Promise<ScanResult> {
    const verdict = await scanner.scan(filePath);
    const scan: ScanResult = { clean: verdict.clean, signature: verdict.signature, engine: verdict.engine, scannedAt: new Date().toISOString() };
    await assets.recordScan(db, assetId, scan);
    await recordEvent(assetId, 'scanned', scan.clean ? 'clean' : 'infected', { ...scan });
    return scan;
  }

  /**
   * Verify, scan (uploads only: a released false positive was judged by an admin) and convert from ONE
   * download of the server-only copy. The bytes converted are the bytes scanned and verified: the same
   * local file, in a directory of this attempt's own, which nothing else writes to.
   */
  async function processUpload(input: AssetConversionInput): Promise<ProcessedUpload> {
    const asset = await loadAsset(input.assetId);
    return failingOnInvalidContent(() =>
      whileHeartbeating(async () => {
        const sizeBytes = await assets.checkSourceObject(deps, asset);
        return assets.withSourceFile(storage, buckets, asset, async (filePath): Promise<ProcessedUpload> => {
          const kind = await assets.checkSourceFile(deps, asset, filePath);
          await recordEvent(asset.id, 'verified', 'ok', { sizeBytes, kind });
          if (input.reason === 'upload') {
            const scan = await scanFile(asset.id, filePath);
            if (!scan.clean) return { clean: false, scan };
          }
          return { clean: true, output: await convertFile(asset, (budget, signal) => assets.convertSourceFile(deps, asset, filePath, signal, budget)) };
        });
      }),
    );
  }

  async function quarantineUpload(assetId: string, signature: string): Promise<void> {
    await assets.quarantine(db, storage, buckets, await loadAsset(assetId));
    await recordEvent(assetId, 'quarantined', 'infected', { signature, bucket: buckets.quarantine });
  }

  async function convertAsset(assetId: string): Promise<ConversionOutput> {
    const asset = await loadAsset(assetId);
    return convertFile(asset, (budget, signal) => failingOnInvalidContent(() => whileHeartbeating(() => assets.convertUpload(deps, asset, signal, budget))));
  }

  /** Runs `convert` with this attempt's poison-file budget, cleans up after a deletion, records `converted`. */
  async function convertFile(asset: Asset, convert: (budget: assets.AttemptBudget, signal: AbortSignal) => Promise<ConversionOutput>): Promise<ConversionOutput> {
    const budget = { attempt: currentCall().attempt, maxAttempts: deps.converterMaxAttempts };
    let output: ConversionOutput;
    try {
      output = await convert(budget, Context.current().cancellationSignal);
    } finally {
      await removeObjectsIfDeleted(asset.id);
    }
    await recordEvent(asset.id, 'converted', 'ok', { renditions: output.renditions.map((r) => r.name), metadata: output.metadata });
    return output;
  }

  /**
   * A conversion can outlive its canceled run until its next heartbeat. Its renditions are all
   * written by now: either the deletion is committed and they are removed here, or it is not and
   * the deletion's own removal, which follows that commit, finds them.
   */
  async function removeObjectsIfDeleted(assetId: string): Promise<void> {
    const asset = await assets.findAsset(db, assetId);
    if (asset?.status === 'deleted') await assets.removeAssetObjects(storage, buckets, asset);
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

  /** `indexAsset` then `completeIngestion` in one call: both are safe to repeat, so a retry repeats both. */
  async function finishIngestion(assetId: string, output: ConversionOutput): Promise<void> {
    await indexAsset(assetId);
    await completeIngestion(assetId, output);
  }

  async function failIngestion(assetId: string, reason: string): Promise<void> {
    const runFails = reason.startsWith(RETRIES_EXHAUSTED_REASON);
    await assets.failIngestion(db, assetId, reason, runFails ? failingRun(reason) : undefined);
    await recordEvent(assetId, 'failed', 'failed', { reason });
  }

  /** Cancels the asset's running conversion and waits until it has closed (its clean-up included). */
  async function stopConversion(assetId: string): Promise<void> {
    const handle = Context.current().client.workflow.getHandle(assetConversionWorkflowId(assetId));
    try {
      if ((await handle.describe()).status.name !== 'RUNNING') return;
      await handle.cancel();
      await whileHeartbeating(() => handle.result().then(() => undefined, () => undefined));
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }

  async function markDeleted(assetId: string): Promise<void> {
    await assets.markDeleted(db, assetId);
    await recordEvent(assetId, 'deleted', 'ok');
  }

  async function removeAssetObjects(assetId: string): Promise<number> {
    const removed = await assets.removeAssetObjects(storage, buckets, await loadAsset(assetId));
    await recordEvent(assetId, 'objects-removed', 'ok', { removed });
    return removed;
  }

  async function unindexAsset(assetId: string): Promise<void> {
    await search.remove(assetId);
    await recordEvent(assetId, 'unindexed', 'ok');
  }

  return {
    stopConversion,
    markDeleted,
    removeAssetObjects,
    unindexAsset,
    startIngestion,
    releaseFromQuarantine,
    verifyUpload,
    scanUpload,
    quarantineUpload,
    convertAsset,
    processUpload,
    indexAsset,
    completeIngestion,
    finishIngestion,
    failIngestion,
  };
}

export type AssetActivities = ReturnType<typeof createAssetActivities>;
