// The export claim/commit protocol and its advisory locks, all in this one module.
// Exactly once, whatever crashes or races:
// - ingestion holds INGESTION_LOCK_KEY shared; a revocation and an export's claim hold it
//   exclusively. A revocation waits for the inserts in flight, and inserts after it see the
//   new consent; a claim waits for them too, so no id below its range's end can still appear;
// - one exporter at a time (EXPORT_LOCK_KEY, transaction-scoped, released by Postgres when
//   the holder's connection dies);
// - a batch is an id range, claimed (its export row written, open) and committed before its
//   object is written, so a retry after a crash resumes the same range under the same key
//   and overwrites its own object;
// - the export row's commit and the checkpoint commit in one transaction, batch by batch in id order.
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { EXPORT_CHECKPOINT, TelemetryCheckpoint, TelemetryExport } from '../../db/models/Telemetry';
import type { Db } from '../../lib/db';
import { PermanentFailure } from '../permanentFailure';
import { recordOutboxEvent, reportRunFailed, type FailedRun } from '../notifications/outbox';

/** Held shared by ingestion, exclusively by a revocation and by an export's claim. */
export const INGESTION_LOCK_KEY = 7_310_002;
/** Held by the one exporter at work (any constant unique to this use). */
const EXPORT_LOCK_KEY = 7_310_001;

export interface TelemetryExportSettings {
  bucket: string;
  prefix: string;
  compress: boolean;
  lineageTool: string;
}

/** The job and run an export works for: recorded on each batch it commits and in each object's lineage. */
export interface ExportingRun {
  job: string;
  workflowId: string;
  runId: string;
  /** The activity call exporting for the run (its retries share it). */
  activityId?: string;
}

/**
 * Inserts may run side by side; a claim or a revocation waits for them. A statement of its
 * own, run in the inserting transaction before the INSERT: under READ COMMITTED the INSERT's
 * snapshot is then taken after the lock is granted, so it sees a revocation that held it.
 */
export const HOLD_INGESTION_SHARED = `SELECT pg_advisory_xact_lock_shared(${INGESTION_LOCK_KEY})`;

/** Waits for the inserts in flight and keeps new ones out until the transaction ends. */
export async function holdIngestionExclusive(trx: Knex): Promise<void> {
  await trx.raw('SELECT pg_advisory_xact_lock(?)', [INGESTION_LOCK_KEY]);
}

/** Holds the export lock, on a connection of its own, while `work` runs. */
export async function asTheOnlyExporter<T>(db: Db, work: () => Promise<T>): Promise<T> {
  return db.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(?)', [EXPORT_LOCK_KEY]);
    return work();
  });
}

/** The end of the last claimed batch: events above it are still pending, and only those may be held back. */
export async function claimedThrough(db: Knex): Promise<string> {
  const { rows } = (await db.raw(
    `SELECT greatest(
       (SELECT max(through_event_id) FROM telemetry_exports),
       (SELECT last_event_id FROM telemetry_checkpoints WHERE name = ?))::text AS through`,
    [EXPORT_CHECKPOINT],
  )) as { rows: Array<{ through: string | null }> };
  return rows[0].through ?? '0';
}

/** A revocation's half: claimed events are already being written to their object; everything else still waiting is held back. */
export async function suppressPendingEvents(trx: Knex, userId: string, scope: string): Promise<number> {
  return trx('telemetry_events')
    .where({ userId, scope, status: 'accepted' })
    .where('id', '>', await claimedThrough(trx))
    .update({ status: 'suppressed' });
}

/** `20261122T172300Z-1a2b3c4d`: sortable by claim time, and it names its own date partition. */
function newBatchId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

/** `<prefix>/dt=YYYY-MM-DD/<batchId>.jsonl.gz`: deterministic, so a retried batch overwrites itself. */
function exportKey(settings: TelemetryExportSettings, batchId: string): string {
  const dt = `${batchId.slice(0, 4)}-${batchId.slice(4, 6)}-${batchId.slice(6, 8)}`;
  return `${settings.prefix}/dt=${dt}/${batchId}.jsonl${settings.compress ? '.gz' : ''}`;
}

/** Batches claimed earlier whose commit never happened (their exporter crashed), oldest first. */
export async function openBatches(db: Db): Promise<TelemetryExport[]> {
  return TelemetryExport.query(db).whereNull('committedAt').orderBy('throughEventId');
}

/** The next pending events as a new open batch, committed at once, so a crash cannot change the batch. */
export async function claimBatch(db: Db, settings: TelemetryExportSettings, batchSize: number): Promise<TelemetryExport | undefined> {
  return db.transaction(async (trx) => {
    await holdIngestionExclusive(trx);
    const afterId = await claimedThrough(trx);
    const { rows } = (await trx.raw(
      `SELECT count(*)::int AS count, max(id)::text AS through_id, min(occurred_at) AS first_event_at,
              max(occurred_at) AS last_event_at, max(received_at) AS last_received_at
       FROM (SELECT id, occurred_at, received_at FROM telemetry_events WHERE status = 'accepted' AND id > ? ORDER BY id LIMIT ?) batch`,
      [afterId, batchSize],
    )) as { rows: Array<{ count: number; through_id: string | null; first_event_at: Date; last_event_at: Date; last_received_at: Date }> };
    const batch = rows[0];
    if (batch.count === 0 || batch.through_id === null) return undefined;
    const batchId = newBatchId(new Date());
    return TelemetryExport.query(trx).insertAndFetch({
      batchId,
      bucket: settings.bucket,
      key: exportKey(settings, batchId),
      count: batch.count,
      bytes: 0,
      firstEventAt: batch.first_event_at,
      lastEventAt: batch.last_event_at,
      afterEventId: afterId,
      throughEventId: batch.through_id,
      lastReceivedAt: batch.last_received_at,
      // Millisecond precision, like the list's keyset cursor.
      createdAt: new Date(),
      committedAt: null,
    });
  });
}

/** The export row's commit and the checkpoint, together; a batch already committed changes nothing. */
export async function commitBatch(db: Db, run: ExportingRun, batch: TelemetryExport, bytes: number): Promise<void> {
  await db.transaction(async (trx) => {
    // The checkpoint row lock orders commits; it is taken first, before anything is written.
    const checkpoint = await TelemetryCheckpoint.query(trx).findById(EXPORT_CHECKPOINT).forUpdate();
    if (!checkpoint) throw new PermanentFailure('the export checkpoint row is missing', 'CheckpointMissing');
    const committed = await TelemetryExport.query(trx)
      .findById(batch.batchId)
      .whereNull('committedAt')
      .patch({ bytes, workflowId: run.workflowId, runId: run.runId, activityId: run.activityId ?? null, committedAt: new Date() });
    if (committed === 0) return;
    const advanced = BigInt(batch.throughEventId) > BigInt(checkpoint.lastEventId);
    await TelemetryCheckpoint.query(trx)
      .findById(EXPORT_CHECKPOINT)
      .patch({
        lastBatchId: batch.batchId,
        ...(advanced ? { lastEventId: batch.throughEventId, checkpointAt: batch.lastReceivedAt } : {}),
        lastFailure: null,
        lastFailureAt: null,
        updatedAt: new Date(),
      });
    const exported = (await TelemetryExport.query(trx).findById(batch.batchId)) as TelemetryExport;
    await recordOutboxEvent(trx, 'telemetry_export.committed', { telemetryExport: exported.toView() });
  });
}

/** The batches an activity call of this run committed before (in attempts that then failed), in commit order. */
export async function committedByCall(db: Db, run: Required<Pick<ExportingRun, 'runId' | 'activityId'>>): Promise<TelemetryExport[]> {
  return TelemetryExport.query(db).where({ runId: run.runId, activityId: run.activityId }).whereNotNull('committedAt').orderBy('committedAt');
}

export async function pendingAfter(db: Db, eventId: string): Promise<boolean> {
  return (await db('telemetry_events').where('status', 'accepted').where('id', '>', eventId).first('id')) !== undefined;
}

/** The export's failure on the checkpoint, and `run.failed` for the run that fails after it, together. */
export async function recordExportFailure(db: Db, reason: string, failedRun?: FailedRun): Promise<void> {
  await db.transaction(async (trx) => {
    await TelemetryCheckpoint.query(trx)
      .findById(EXPORT_CHECKPOINT)
      .patch({ lastFailure: reason, lastFailureAt: new Date(), updatedAt: new Date() });
    if (failedRun) await reportRunFailed(trx, failedRun);
  });
}
