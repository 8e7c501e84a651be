// The records of an asset's ingestion, written as its workflow moves through the steps.
// Each write is safe to repeat: statuses are patched, events are keyed by run and step.
import { Asset, AssetIngestionEvent, AssetRendition } from '../../db/models/Asset';
import type { Db } from '../../lib/db';
import type { Storage } from '../../providers/storage';
import type { AssetMetadata, Rendition, ScanResult } from '../../schemas/assets';
import { assetPrefixes, sourceKey } from './keys';
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

/** Conversion writes never touch a deleted asset: a late step of a canceled run changes nothing. */
const live = (db: Db, assetId: string) => Asset.query(db).findById(assetId).whereNot('status', 'deleted');

export async function recordScan(db: Db, assetId: string, scan: ScanResult): Promise<void> {
  await live(db, assetId).patch({ scan, updatedAt: new Date() });
}

/**
 * The upload becomes a server-only object in the private bucket and the upload key is deleted:
 * a PUT to a still-valid presigned URL can no longer change what is verified, scanned,
 * converted or served. An existing copy is never overwritten, so a retry keeps the first one.
 */
export async function takeUpload(storage: Storage, buckets: AssetBuckets, asset: Asset): Promise<void> {
  const key = sourceKey(asset);
  if (!(await storage.head(buckets.private, key))) {
    // Nothing uploaded: verification reports the object missing.
    if (!(await storage.head(buckets.uploads, asset.uploadKey))) return;
    await storage.copy(buckets.uploads, asset.uploadKey, buckets.private, key);
  }
  await storage.remove(buckets.uploads, asset.uploadKey);
}

/** A released false positive is restored from the quarantined copy, never from the upload key. */
export async function moveOutOfQuarantine(storage: Storage, buckets: AssetBuckets, asset: Asset): Promise<void> {
  const key = sourceKey(asset);
  if (!(await storage.head(buckets.private, key))) await storage.copy(buckets.quarantine, asset.uploadKey, buckets.private, key);
  await storage.remove(buckets.quarantine, asset.uploadKey);
}

/** An infected copy moves to the quarantine bucket; its private copy goes only once the asset says so. */
export async function quarantine(db: Db, storage: Storage, buckets: AssetBuckets, asset: Asset): Promise<void> {
  const key = sourceKey(asset);
  if (await storage.head(buckets.private, key)) await storage.copy(buckets.private, key, buckets.quarantine, asset.uploadKey);
  await settleAsset(db, asset.id, 'quarantined', { closedStatus: 'quarantined' });
  await storage.remove(buckets.private, key);
}

type SettledStatus = 'ready' | 'failed' | 'quarantined';

/**
 * Moves a live (not deleted) asset to a settled status and, when it was not already there (a retried activity finds
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
    if (!before || before.status === 'deleted') return;
    await extra?.(trx);
    const [after] = await Asset.query(trx).where('id', assetId).patch({ status, ...patch, updatedAt: new Date() }).returning('*');
    if (before.status === status) return;
    await after.$fetchGraph('renditions', { transaction: trx });
    await recordOutboxEvent(trx, `asset.${status}`, { asset: after.toView() });
  });
}

export async function saveSearchText(db: Db, assetId: string, title: string | null, text: string): Promise<void> {
  await live(db, assetId).patch({ title, searchText: text, updatedAt: new Date() });
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

/** The record says `deleted` (and lists no renditions) before any of its objects is removed. */
export async function markDeleted(db: Db, assetId: string): Promise<void> {
  await db.transaction(async (trx) => {
    const asset = await Asset.query(trx).findById(assetId).forUpdate();
    if (!asset) return;
    await AssetRendition.query(trx).delete().where('assetId', assetId);
    if (asset.status === 'deleted') return;
    const now = new Date();
    await Asset.query(trx).findById(assetId).patch({ status: 'deleted', searchText: null, deletedAt: now, updatedAt: now });
    const after = (await Asset.query(trx).findById(assetId)) as Asset;
    await recordOutboxEvent(trx, 'asset.deleted', { asset: after.toView() });
  });
}

/** Every object of a deleted asset: its private copy and renditions, a quarantined copy, anything at its upload key. */
export async function removeAssetObjects(storage: Storage, buckets: AssetBuckets, asset: Asset): Promise<number> {
  if (asset.status !== 'deleted') throw new Error(`asset ${asset.id} is ${asset.status}: objects go only after the deletion commits`);
  const keys: Array<[string, string]> = [];
  for (const prefix of assetPrefixes(asset.id)) {
    for await (const object of storage.list(buckets.private, prefix)) keys.push([buckets.private, object.key]);
  }
  for (const bucket of [buckets.quarantine, buckets.uploads]) {
    if (await storage.head(bucket, asset.uploadKey)) keys.push([bucket, asset.uploadKey]);
  }
  for (const [bucket, key] of keys) await storage.remove(bucket, key);
  return keys.length;
}
