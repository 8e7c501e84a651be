// Activities of the telemetry export. Exactly once, whatever crashes or races:
// - one exporter at a time (a transaction-scoped advisory lock, released by
//   Postgres when the holder's connection dies);
// - a batch is claimed (its events marked with the batch id) and committed
//   before its object is written, so a retry after a crash resumes the same
//   events under the same key and overwrites its own object;
// - the export row, exported_at and the checkpoint commit in one transaction.
import { randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { ApplicationFailure } from '@temporalio/activity';
import type { Knex } from 'knex';
import { EXPORT_CHECKPOINT, TelemetryCheckpoint, TelemetryExport } from '../db/models/Telemetry';
import type { Db } from '../lib/db';
import type { Storage } from '../providers/storage';
import type { ExportedBatch } from '../schemas/telemetry';
import { TELEMETRY_EXPORT_WORKFLOW } from '../workflows/telemetryExport.contract';
import { currentRun, whileHeartbeating } from './context';

export interface TelemetryExportSettings {
  bucket: string;
  prefix: string;
  compress: boolean;
  lineageTool: string;
}

export interface TelemetryActivityDeps {
  db: Db;
  storage: Storage;
  exports: TelemetryExportSettings;
}

/** Key of the advisory lock every exporter holds for one batch (any constant unique to this use). */
const EXPORT_LOCK_KEY = 7_310_001;
const PAGE_ROWS = 1000;

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

const ISO_UTC = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/** One JSON line per event, built by Postgres. */
const EVENT_LINE = `json_build_object(
  'eventId', event_id, 'source', source, 'name', name,
  'occurredAt', to_char(occurred_at AT TIME ZONE 'UTC', ${ISO_UTC}),
  'receivedAt', to_char(received_at AT TIME ZONE 'UTC', ${ISO_UTC}),
  'userId', user_id, 'scope', scope, 'properties', properties)::text AS line`;

/** The JSONL of a claimed batch, a page of rows at a time (keyset, never the whole batch in memory). */
export async function* batchLines(db: Db, batchId: string): AsyncGenerator<Buffer> {
  let after = '0';
  for (;;) {
    const { rows } = (await db.raw(
      `SELECT id, ${EVENT_LINE} FROM telemetry_events
       WHERE export_batch_id = ? AND exported_at IS NULL AND id > ? ORDER BY id LIMIT ?`,
      [batchId, after, PAGE_ROWS],
    )) as { rows: Array<{ id: string; line: string }> };
    if (rows.length === 0) return;
    yield Buffer.from(`${rows.map((r) => r.line).join('\n')}\n`);
    after = rows[rows.length - 1].id;
  }
}

/** Counts the bytes that pass through. */
function byteCounter(): Transform & { bytes: number } {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      counter.bytes += chunk.length;
      done(null, chunk);
    },
  }) as Transform & { bytes: number };
  counter.bytes = 0;
  return counter;
}

export function createTelemetryActivities(deps: TelemetryActivityDeps) {
  const { db, storage, exports: settings } = deps;

  /** A batch claimed earlier whose commit never happened (its exporter crashed). */
  async function openBatch(): Promise<string | null> {
    const row = (await db('telemetry_events')
      .select('exportBatchId')
      .whereNotNull('exportBatchId')
      .whereNull('exportedAt')
      .first()) as { exportBatchId: string } | undefined;
    return row?.exportBatchId ?? null;
  }

  /** Marks the next pending events with a new batch id; committed at once, so a crash cannot change the batch. */
  async function claimBatch(batchSize: number): Promise<string | null> {
    const batchId = newBatchId(new Date());
    const { rowCount } = (await db.raw(
      `UPDATE telemetry_events SET export_batch_id = ?
       WHERE id IN (SELECT id FROM telemetry_events WHERE status = 'accepted' AND exported_at IS NULL ORDER BY id LIMIT ?)`,
      [batchId, batchSize],
    )) as { rowCount: number };
    return rowCount > 0 ? batchId : null;
  }

  /** Streams the batch from Postgres through gzip into S3 (multipart for large batches); returns the bytes written. */
  async function writeObject(batchId: string, key: string): Promise<number> {
    const counter = byteCounter();
    const source = Readable.from(batchLines(db, batchId));
    const run = currentRun();
    const reading = settings.compress ? pipeline(source, createGzip(), counter) : pipeline(source, counter);
    const uploading = storage.put(settings.bucket, key, counter, {
        contentType: settings.compress ? 'application/gzip' : 'application/x-ndjson',
        metadata: {
          'lineage-tool': settings.lineageTool,
          'lineage-job': TELEMETRY_EXPORT_WORKFLOW,
          'lineage-run': `${run.workflowId}/${run.runId}`,
          'lineage-source': 'postgres:telemetry_events',
          'batch-id': batchId,
          format: 'jsonl',
        },
      })
      // A failed upload stops reading, so the pipeline is ended with it.
      .catch((err: Error) => {
        counter.destroy(err);
        throw err;
      });
    await Promise.all([reading, uploading]);
    return counter.bytes;
  }

  /** The export row, exported_at and the checkpoint, together; a batch already committed changes nothing. */
  async function commitBatch(trx: Knex.Transaction, batchId: string, key: string, bytes: number) {
    // The checkpoint row lock orders commits; it is taken first, before anything is written.
    const checkpoint = await TelemetryCheckpoint.query(trx).findById(EXPORT_CHECKPOINT).forUpdate();
    if (!checkpoint) throw ApplicationFailure.nonRetryable('the export checkpoint row is missing', 'CheckpointMissing');
    const stats = (await trx('telemetry_events')
      .where('exportBatchId', batchId)
      .whereNull('exportedAt')
      .select(
        trx.raw('count(*)::int AS count'),
        trx.raw('min(occurred_at) AS first_event_at'),
        trx.raw('max(occurred_at) AS last_event_at'),
        trx.raw('max(received_at) AS last_received_at'),
        trx.raw('max(id) AS last_id'),
      )
      .first()) as { count: number; firstEventAt: Date | null; lastEventAt: Date | null; lastReceivedAt: Date | null; lastId: string | null };
    if (stats.count === 0) return 0;
    await trx('telemetry_events').where('exportBatchId', batchId).whereNull('exportedAt').update({ exportedAt: trx.fn.now() });
    const run = currentRun();
    await TelemetryExport.query(trx).insert({
      batchId,
      bucket: settings.bucket,
      key,
      count: stats.count,
      bytes,
      firstEventAt: stats.firstEventAt,
      lastEventAt: stats.lastEventAt,
      workflowId: run.workflowId,
      runId: run.runId,
      // Millisecond precision, like the list's keyset cursor.
      createdAt: new Date(),
    });
    const advanced = BigInt(stats.lastId ?? 0) > BigInt(checkpoint.lastEventId);
    await TelemetryCheckpoint.query(trx)
      .findById(EXPORT_CHECKPOINT)
      .patch({
        lastBatchId: batchId,
        ...(advanced ? { lastEventId: String(stats.lastId), checkpointAt: stats.lastReceivedAt } : {}),
        lastFailure: null,
        lastFailureAt: null,
        updatedAt: new Date(),
      });
    return stats.count;
  }

  /** Exports the next batch (or resumes an interrupted one); null when nothing is pending. */
  async function exportNextBatch(batchSize: number): Promise<ExportedBatch | null> {
    return whileHeartbeating(() =>
      db.transaction(async (trx) => {
        await trx.raw('SELECT pg_advisory_xact_lock(?)', [EXPORT_LOCK_KEY]);
        const batchId = (await openBatch()) ?? (await claimBatch(batchSize));
        if (!batchId) return null;
        const key = exportKey(settings, batchId);
        const bytes = await writeObject(batchId, key);
        const count = await commitBatch(trx, batchId, key, bytes);
        const pending = await trx('telemetry_events').where('status', 'accepted').whereNull('exportedAt').first('id');
        return { batchId, key, count, bytes, morePending: pending !== undefined };
      }),
    );
  }

  async function recordExportFailure(reason: string): Promise<void> {
    await TelemetryCheckpoint.query(db)
      .findById(EXPORT_CHECKPOINT)
      .patch({ lastFailure: reason, lastFailureAt: new Date(), updatedAt: new Date() });
  }

  return { exportNextBatch, recordExportFailure };
}

export type TelemetryActivities = ReturnType<typeof createTelemetryActivities>;
