// Activities of the telemetry export. Exactly once, whatever crashes or races:
// - one exporter at a time (a transaction-scoped advisory lock, released by
//   Postgres when the holder's connection dies);
// - a batch is an id range, claimed (its export row written, open) and committed
//   before its object is written, so a retry after a crash resumes the same range
//   under the same key and overwrites its own object;
// - the claim waits for the inserts in flight, so no event can appear below its range;
// - the export row's commit and the checkpoint commit in one transaction, batch by batch
//   in id order.
import { randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { ApplicationFailure } from '@temporalio/activity';
import { claimedThrough, EXPORT_CHECKPOINT, INGESTION_LOCK_KEY, TelemetryCheckpoint, TelemetryExport } from '../db/models/Telemetry';
import type { Db } from '../lib/db';
import type { Storage } from '../providers/storage';
import type { ExportedBatch, ExportedBatches } from '../schemas/telemetry';
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

/** Key of the advisory lock an exporter holds while it works (any constant unique to this use). */
const EXPORT_LOCK_KEY = 7_310_001;
const PAGE_ROWS = 1000;
const CONCURRENT_READS = 2;
/** One activity call claims no new batch after this long, so the workflow hears back and shows progress. */
const SLICE_MS = 30_000;

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

/** The ids of a batch: every accepted event with afterId < id <= throughId. */
export interface EventRange {
  afterId: string;
  throughId: string;
}

/** The JSONL of a batch, a page of rows at a time (keyset, never the whole batch in memory). */
export async function* batchLines(db: Db, range: EventRange): AsyncGenerator<Buffer> {
  let after = range.afterId;
  for (;;) {
    const { rows } = (await db.raw(
      `SELECT id, ${EVENT_LINE} FROM telemetry_events
       WHERE status = 'accepted' AND id > ? AND id <= ? ORDER BY id LIMIT ?`,
      [after, range.throughId, PAGE_ROWS],
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

type CommittedBatch = Omit<ExportedBatch, 'morePending'>;

/** Marks a promise that is awaited later as handled, so its rejection meanwhile is not reported as unhandled. */
function handledLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

export function createTelemetryActivities(deps: TelemetryActivityDeps) {
  const { db, storage, exports: settings } = deps;

  /** Batches claimed earlier whose commit never happened (their exporter crashed), oldest first. */
  async function openBatches(): Promise<TelemetryExport[]> {
    return TelemetryExport.query(db).whereNull('committedAt').orderBy('throughEventId');
  }

  /** The next pending events as a new open batch, committed at once, so a crash cannot change the batch. */
  async function claimBatch(batchSize: number): Promise<TelemetryExport | undefined> {
    return db.transaction(async (trx) => {
      await trx.raw('SELECT pg_advisory_xact_lock(?)', [INGESTION_LOCK_KEY]);
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

  /**
   * Starts streaming the batch from Postgres through gzip into S3 (multipart for large
   * batches). `read` settles when every row has been read, `written` when the object is
   * stored (with its size in bytes).
   */
  function startObject(batch: TelemetryExport): { read: Promise<void>; written: Promise<number> } {
    const counter = byteCounter();
    const source = Readable.from(batchLines(db, { afterId: batch.afterEventId, throughId: batch.throughEventId }));
    const run = currentRun();
    const read = settings.compress ? pipeline(source, createGzip(), counter) : pipeline(source, counter);
    const uploading = storage.put(batch.bucket, batch.key, counter, {
        contentType: batch.key.endsWith('.gz') ? 'application/gzip' : 'application/x-ndjson',
        metadata: {
          'lineage-tool': settings.lineageTool,
          'lineage-job': TELEMETRY_EXPORT_WORKFLOW,
          'lineage-run': `${run.workflowId}/${run.runId}`,
          'lineage-source': 'postgres:telemetry_events',
          'batch-id': batch.batchId,
          format: 'jsonl',
        },
      })
      // A failed upload stops reading, so the pipeline is ended with it.
      .catch((err: Error) => {
        counter.destroy(err);
        throw err;
      });
    return { read, written: handledLater(Promise.all([read, uploading]).then(() => counter.bytes)) };
  }

  /** The export row's commit and the checkpoint, together; a batch already committed changes nothing. */
  async function commitBatch(batch: TelemetryExport, bytes: number): Promise<void> {
    await db.transaction(async (trx) => {
      // The checkpoint row lock orders commits; it is taken first, before anything is written.
      const checkpoint = await TelemetryCheckpoint.query(trx).findById(EXPORT_CHECKPOINT).forUpdate();
      if (!checkpoint) throw ApplicationFailure.nonRetryable('the export checkpoint row is missing', 'CheckpointMissing');
      const run = currentRun();
      const committed = await TelemetryExport.query(trx)
        .findById(batch.batchId)
        .whereNull('committedAt')
        .patch({ bytes, workflowId: run.workflowId, runId: run.runId, committedAt: new Date() });
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
    });
  }

  async function pendingAfter(eventId: string): Promise<boolean> {
    return (await db('telemetry_events').where('status', 'accepted').where('id', '>', eventId).first('id')) !== undefined;
  }

  /** Holds the export lock, on a connection of its own, while `work` runs. */
  async function asTheOnlyExporter<T>(work: () => Promise<T>): Promise<T> {
    return db.transaction(async (trx) => {
      await trx.raw('SELECT pg_advisory_xact_lock(?)', [EXPORT_LOCK_KEY]);
      return work();
    });
  }

  /**
   * Exports up to `maxBatches` batches, open ones first, claiming none after one slice.
   * Two batches are read at once and the next one is claimed meanwhile: one reader leaves
   * Postgres idle while it gzips a page and gzip idle while Postgres builds the next.
   * Commits stay in id order.
   */
  async function exportUpTo(batchSize: number, maxBatches: number): Promise<{ committed: CommittedBatch[]; morePending: boolean }> {
    return whileHeartbeating(() =>
      asTheOnlyExporter(async () => {
        const started = Date.now();
        const open = await openBatches();
        const nextBatch = () => handledLater(Promise.resolve(open.shift() ?? claimBatch(batchSize)));
        const committed: CommittedBatch[] = [];
        const reading: Array<Promise<void>> = [];
        let claiming = nextBatch();
        let committing: Promise<unknown> = Promise.resolve();
        let last: TelemetryExport | undefined;
        let begun = 0;
        try {
          for (let batch = await claiming; batch; batch = await claiming) {
            const done = (last = batch);
            begun += 1;
            const another = begun < maxBatches && Date.now() - started < SLICE_MS;
            claiming = another ? nextBatch() : Promise.resolve(undefined);
            const object = startObject(batch);
            reading.push(handledLater(object.read));
            committing = handledLater(
              Promise.all([object.written, committing]).then(async ([bytes]) => {
                await commitBatch(done, bytes);
                committed.push({ batchId: done.batchId, key: done.key, count: done.count, bytes });
              }),
            );
            if (reading.length === CONCURRENT_READS) await reading.shift();
          }
          await committing;
        } finally {
          // Nothing outlives the export lock: claims, reads and commits still running settle first.
          await Promise.allSettled([claiming, committing, ...reading]);
        }
        return { committed, morePending: last !== undefined && (await pendingAfter(last.throughEventId)) };
      }),
    );
  }

  /** Exports up to `maxBatches` batches (resuming interrupted ones first) and reports the totals. */
  async function exportBatches(input: { batchSize: number; maxBatches: number }): Promise<ExportedBatches> {
    const { committed, morePending } = await exportUpTo(input.batchSize, input.maxBatches);
    return {
      batches: committed.length,
      events: committed.reduce((sum, b) => sum + b.count, 0),
      bytes: committed.reduce((sum, b) => sum + b.bytes, 0),
      morePending,
    };
  }

  /** One batch per call: what runs started before the 'several-batches-per-call' patch still schedule. */
  async function exportNextBatch(batchSize: number): Promise<ExportedBatch | null> {
    const { committed, morePending } = await exportUpTo(batchSize, 1);
    return committed[0] ? { ...committed[0], morePending } : null;
  }

  async function recordExportFailure(reason: string): Promise<void> {
    await TelemetryCheckpoint.query(db)
      .findById(EXPORT_CHECKPOINT)
      .patch({ lastFailure: reason, lastFailureAt: new Date(), updatedAt: new Date() });
  }

  return { exportBatches, exportNextBatch, recordExportFailure };
}

export type TelemetryActivities = ReturnType<typeof createTelemetryActivities>;
