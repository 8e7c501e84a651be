// The records of an asset's ingestion, written as its workflow moves through the steps.
// Each write is safe to repeat: statuses are patched, events are keyed by run and step.
import { Asset, AssetIngestionEvent, AssetRendition } from '../../db/models/Asset';
import type { Db } from '../../lib/db';
import type { Storage } from '../../providers/storage';
import type { AssetMetadata, Rendition, ScanResult } from '../../schemas/assets';
import type { Knex } from 'knex';
import { recordOutboxEvent, reportRunFailed, type FailedRun } from '../notifications/outbox';

export interface AssetBuckets {
  uploads: string;
  private: string;
  quarantine: string;
}

export interface StoredRendition extends Rendition {
  key: string;
}

export interface ConversionOutput {
  metadata: AssetMetadata;
  renditions: StoredRendition[];
}

export interface IngestionEvent {
  assetId: string;
  step: string;
  status: string;
  detail?: Record<string, unknown>;
  workflowId: string;
  runId: string;
}

export const findAsset = async (db: Db, assetId: string): Promise<Asset | undefined> => Asset.query(db).findById(assetId);

/** Appends to the audit trail once per run and step, however often it is repeated. */
export async function recordIngestionEvent(db: Db, { assetId, step, status, detail = {}, workflowId, runId }: IngestionEvent): Promise<void> {
  await AssetIngestionEvent.query(db)
    .insert({ assetId, eventKey: `${runId}:${step}`, step, status, detail, workflowId, runId, actor: 'workflow' })
    .onConflict(['asset_id', 'event_key'])
    .ignore();
}

/** A deleted or ready asset keeps its status; any other one is (again) being processed. */
export async function beginIngestion(db: Db, assetId: string): Promise<void> {
  await Asset.query(db)
    .findById(assetId)
    .whereIn('status', ['awaiting_upload', 'processing', 'failed', 'quarantined'])
    .patch({ status: 'processing', closedStatus: null, failureReason: null, updatedAt: new Date() });
}

export async function recordScan(db: Db, assetId: string, scan: ScanResult): Promise<void> {
  await Asset.query(db).findById(assetId).patch({ scan, updatedAt: new Date() });
}

/** A released false positive goes back to the uploads bucket before it is converted. */
export async function moveOutOfQuarantine(storage: Storage, buckets: AssetBuckets, key: string): Promise<void> {
  if (!(await storage.head(buckets.uploads, key))) await storage.copy(buckets.quarantine, key, buckets.uploads, key);
  await storage.remove(buckets.quarantine, key);
}

/** An infected upload moves to the quarantine bucket and the asset says so. */
export async function quarantine(db: Db, storage: Storage, buckets: AssetBuckets, asset: Asset): Promise<void> {
  if (await storage.head(buckets.uploads, asset.uploadKey)) {
    await storage.copy(buckets.uploads, asset.uploadKey, buckets.quarantine, asset.uploadKey);
    await storage.remove(buckets.uploads, asset.uploadKey);
  }
  await settleAsset(db, asset.id, 'quarantined', { closedStatus: 'quarantined' });
}

type SettledStatus = 'ready' | 'failed' | 'quarantined';

/**
 * Moves an asset to a settled status and, when it was not already there (a retried activity finds
 * it done), reports `asset.<status>` in the same transaction. `extra` runs first, in that transaction.
 */
async function settleAsset(
  db: Db,
  assetId: string,
  status: SettledStatus,
  patch: Partial<Asset>,
  extra?: (trx: Knex.Transaction) => Promise<void>,
): Promise<void> {
  await db.transaction(async (trx) => {
    const before = await Asset.query(trx).findById(assetId).forUpdate();
    if (!before) return;
    await extra?.(trx);
    await Asset.query(trx).findById(assetId).patch({ status, ...patch, updatedAt: new Date() });
    if (before.status === status) return;
    const after = (await Asset.query(trx).findById(assetId).withGraphFetched('renditions')) as Asset;
    await recordOutboxEvent(trx, `asset.${status}`, { asset: after.toView() });
  });
}

export async function saveSearchText(db: Db, assetId: string, title: string | null, text: string): Promise<void> {
  await Asset.query(db).findById(assetId).patch({ title, searchText: text, updatedAt: new Date() });
}

/** Renditions, metadata and the `ready` status land together or not at all. */
export async function completeIngestion(db: Db, renditionsBucket: string, assetId: string, output: ConversionOutput): Promise<void> {
  await settleAsset(db, assetId, 'ready', { closedStatus: 'ready', metadata: output.metadata, failureReason: null }, async (trx) => {
    for (const r of output.renditions) {
      await AssetRendition.query(trx)
        .insert({ assetId, name: r.name, bucket: renditionsBucket, key: r.key, contentType: r.contentType, sizeBytes: r.sizeBytes })
        .onConflict(['asset_id', 'name'])
        .merge(['key', 'content_type', 'size_bytes']);
    }
  });
}

/** `failedRun`: the run fails after this (not bad content, not a cancel), so `run.failed` is reported too. */
export async function failIngestion(db: Db, assetId: string, reason: string, failedRun?: FailedRun): Promise<void> {
  await settleAsset(db, assetId, 'failed', { closedStatus: 'failed', failureReason: reason }, async (trx) => {
    if (failedRun) await reportRunFailed(trx, failedRun);
  });
}
