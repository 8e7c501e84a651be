// Writing claimed batches to storage, pipelined: two batches are read at once and the next
// one is claimed meanwhile; commits stay in id order (see exportProtocol.ts for why that is safe).
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { TelemetryExport } from '../../db/models/Telemetry';
import type { Db } from '../../lib/db';
import type { Storage } from '../../providers/storage';
import type { ExportedBatch } from '../../schemas/telemetry';
import {
  asTheOnlyExporter,
  claimBatch,
  commitBatch,
  openBatches,
  pendingAfter,
  committedByCall,
  type ExportingRun,
  type TelemetryExportSettings,
} from './exportProtocol';

export interface TelemetryExportDeps {
  db: Db;
  storage: Storage;
  exports: TelemetryExportSettings;
}

const PAGE_ROWS = 1000;
const CONCURRENT_READS = 2;
/** One call claims no new batch after this long, so the workflow hears back and shows progress. */
const SLICE_MS = 30_000;

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

export type CommittedBatch = Omit<ExportedBatch, 'morePending'>;

/** Marks a promise that is awaited later as handled, so its rejection meanwhile is not reported as unhandled. */
function handledLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/**
 * Starts streaming the batch from Postgres through gzip into S3 (multipart for large
 * batches). `read` settles when every row has been read, `written` when the object is
 * stored (with its size in bytes).
 */
function startObject(deps: TelemetryExportDeps, run: ExportingRun, batch: TelemetryExport): { read: Promise<void>; written: Promise<number> } {
  const { db, storage, exports: settings } = deps;
  const counter = byteCounter();
  const source = Readable.from(batchLines(db, { afterId: batch.afterEventId, throughId: batch.throughEventId }));
  const read = settings.compress ? pipeline(source, createGzip(), counter) : pipeline(source, counter);
  const uploading = storage.put(batch.bucket, batch.key, counter, {
      contentType: batch.key.endsWith('.gz') ? 'application/gzip' : 'application/x-ndjson',
      metadata: {
        'lineage-tool': settings.lineageTool,
        'lineage-job': run.job,
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

/**
 * Exports up to `maxBatches` batches, open ones first, claiming none after one slice.
 * Two batches are read at once and the next one is claimed meanwhile: one reader leaves
 * Postgres idle while it gzips a page and gzip idle while Postgres builds the next.
 * Commits stay in id order.
 */
export async function exportPendingBatches(
  deps: TelemetryExportDeps,
  run: ExportingRun,
  batchSize: number,
  maxBatches: number,
): Promise<{ committed: CommittedBatch[]; morePending: boolean }> {
  const { db } = deps;
  return asTheOnlyExporter(db, async () => {
    const started = Date.now();
    const open = await openBatches(db);
    const nextBatch = () => handledLater(Promise.resolve(open.shift() ?? claimBatch(db, deps.exports, batchSize)));
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
        const object = startObject(deps, run, batch);
        reading.push(handledLater(object.read));
        committing = handledLater(
          Promise.all([object.written, committing]).then(async ([bytes]) => {
            await commitBatch(db, run, done, bytes);
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
    return { committed, morePending: last !== undefined && (await pendingAfter(db, last.throughEventId)) };
  });
}

const asCommitted = (batch: TelemetryExport): CommittedBatch => ({ batchId: batch.batchId, key: batch.key, count: batch.count, bytes: batch.bytes });

/**
 * One activity call's export: a retried call (`retried`) first counts the batches its earlier attempts
 * committed before failing, so the totals it answers, and the run's budget, include every batch it exported.
 */
export async function exportForCall(
  deps: TelemetryExportDeps,
  run: ExportingRun & { activityId: string },
  options: { batchSize: number; maxBatches: number; retried: boolean },
): Promise<{ committed: CommittedBatch[]; morePending: boolean }> {
  const earlier = options.retried ? (await committedByCall(deps.db, run)).map(asCommitted) : [];
  const budget = options.maxBatches - earlier.length;
  if (budget <= 0) return { committed: earlier, morePending: true };
  const { committed, morePending } = await exportPendingBatches(deps, run, options.batchSize, budget);
  return { committed: [...earlier, ...committed], morePending };
}
