// `npm run bench:telemetry [-- --ingest 100000 --export 1000000 --clients 4]`, against a database
// of its own (DATABASE_URL, named *bench*: its telemetry tables are emptied first), each figure
// beside a baseline measured in the same run:
// (a) events/s ingested through the API in batches of 1000 beside a raw COPY of the same rows;
// (b) seconds to export N events (the telemetryExport workflow on an in-process worker:
//     claim, Postgres → gzip → S3, commit) beside the same batches through the same Postgres → gzip
//     pipeline into /dev/null.
import { randomUUID } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { Worker } from '@temporalio/worker';
import { from as copyFrom } from 'pg-copy-streams';
import type { PoolClient } from 'pg';
import type { ChildProcess } from 'node:child_process';
import { batchLines, type EventRange } from '../../services/telemetry';
import { EXPORT_CHECKPOINT } from '../../db/models/Telemetry';
import { logger } from '../../lib/logger';
import type { TelemetryEventInput } from '../../schemas/telemetry';
import {
  manualTelemetryExportWorkflowId,
  TELEMETRY_EXPORT_WORKFLOW,
  TELEMETRY_TASK_QUEUE,
  telemetryExportInput,
  type TelemetryExportResult,
} from '../../workflows/telemetryExport.contract';
import { taskQueueWorkers } from '../../workers/taskQueues';
import { installRuntime } from '../../workers/runtime';
import { call, tokenFor } from '../../test/support/http';
import { dataConverterOf } from '../../lib/dataConverter';
import { closeShared, nativeConnection, shared, temporalClient, workflowBundle } from '../../test/support/shared';
import { killHard, startApiProcess } from '../../test/support/workerProcess';

const { values } = parseArgs({
  options: {
    ingest: { type: 'string', default: '100000' },
    export: { type: 'string', default: '1000000' },
    clients: { type: 'string', default: '4' },
    'cpu-prof': { type: 'string' },
  },
});
const INGEST_EVENTS = Number(values.ingest);
const EXPORT_EVENTS = Number(values.export);
const CLIENTS = Number(values.clients);
/** A directory for a V8 CPU profile of the API process (written when it exits). */
const CPU_PROF_DIR = values['cpu-prof'];
const REQUEST_EVENTS = 1000;
/** Both sides of (a) first run this many events untimed, so neither is timed while its code is still being compiled. */
const WARMUP_EVENTS = 10_000;

// Loading a million rows in one COPY takes longer than the API's 15 s statement timeout.
process.env.DATABASE_STATEMENT_TIMEOUT_MS ??= '600000';

const seconds = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;

function benchEvents(n: number, run: string): TelemetryEventInput[] {
  return Array.from({ length: n }, (_, i) => ({
    eventId: `${run}-${i}`,
    source: i % 2 ? 'web' : 'mobile',
    name: 'lesson.progress',
    occurredAt: new Date(Date.UTC(2026, 10, 22, 12, 0, 0, i % 1000)).toISOString(),
    userId: `learner-${i % 5000}`,
    properties: { courseId: `course-${i % 40}`, lesson: i % 120, percent: i % 100, device: 'pixel-8', referrer: '/courses' },
  }));
}

/** Tab-separated COPY text, with the status ingestion would have given each row, in chunks of 1000 rows. */
function copyText(events: TelemetryEventInput[]): string[] {
  const escape = (s: string) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
  const chunks: string[] = [];
  for (let i = 0; i < events.length; i += REQUEST_EVENTS) {
    chunks.push(
      events
        .slice(i, i + REQUEST_EVENTS)
        .map((e) => [e.eventId, e.source, e.name, e.occurredAt, e.userId, 'analytics', escape(JSON.stringify(e.properties)), 'accepted'].join('\t'))
        .join('\n') + '\n',
    );
  }
  return chunks;
}

async function copyEvents(text: string[]): Promise<void> {
  const { db } = shared();
  const client = (await db.client.acquireConnection()) as PoolClient;
  try {
    const copy = client.query(
      copyFrom('COPY telemetry_events (event_id, source, name, occurred_at, user_id, scope, properties, status) FROM STDIN'),
    );
    await pipeline(Readable.from(text), copy);
  } finally {
    await db.client.releaseConnection(client);
  }
}

async function grantConsents(): Promise<void> {
  await shared().db.raw(
    `INSERT INTO telemetry_consents (user_id, scope, status, version, recorded_by)
     SELECT 'learner-' || i, 'analytics', 'granted', 'bench', 'bench' FROM generate_series(0, 4999) i`,
  );
}

/** Seconds to ingest `events` through the API in requests of 1000 from CLIENTS concurrent callers. */
async function ingestViaApi(apiUrl: string, events: TelemetryEventInput[]): Promise<number> {
  const token = tokenFor('service');
  // Serialized before the clock starts, as the COPY text is: what is timed is the platform's work.
  const requests: string[] = [];
  for (let i = 0; i < events.length; i += REQUEST_EVENTS) requests.push(JSON.stringify({ events: events.slice(i, i + REQUEST_EVENTS) }));
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let r = c; r < requests.length; r += CLIENTS) {
        const res = await call(apiUrl, 'POST', '/api/v1/telemetry/events', { token, body: requests[r] });
        if (res.status !== 202 || res.body.accepted !== REQUEST_EVENTS) throw new Error(`ingestion: ${JSON.stringify(res.body)}`);
      }
    }),
  );
  return seconds(started);
}

async function copyEventsTimed(events: TelemetryEventInput[]): Promise<number> {
  const text = copyText(events);
  const started = process.hrtime.bigint();
  await copyEvents(text);
  return seconds(started);
}

/**
 * CPU milliseconds (user + system) a process has used so far, from /proc: the API's cost per
 * request, which unlike its rate does not depend on what else the machine runs.
 */
function cpuMillis(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of stat(5); the split leaves out the first two.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** (a) API ingestion and COPY of rows of the same shape, each timed after an untimed warm-up of WARMUP_EVENTS. */
async function benchIngestion(apiUrl: string, apiPid: number) {
  await ingestViaApi(apiUrl, benchEvents(WARMUP_EVENTS, `api-warmup-${randomUUID()}`));
  const cpuBefore = cpuMillis(apiPid);
  const apiRate = INGEST_EVENTS / (await ingestViaApi(apiUrl, benchEvents(INGEST_EVENTS, `api-${randomUUID()}`)));
  const apiCpuPerRequest = (cpuMillis(apiPid) - cpuBefore) / (INGEST_EVENTS / REQUEST_EVENTS);
  await copyEventsTimed(benchEvents(WARMUP_EVENTS, `copy-warmup-${randomUUID()}`));
  const copyRate = INGEST_EVENTS / (await copyEventsTimed(benchEvents(INGEST_EVENTS, `copy-${randomUUID()}`)));
  return { apiRate, copyRate, apiCpuPerRequest };
}

/** Stops the API: gracefully when it writes a CPU profile on exit, otherwise at once. */
async function stopApi(child: ChildProcess): Promise<void> {
  if (!CPU_PROF_DIR) return killHard(child);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

// A task queue of its own: another worker polling `telemetry` in the namespace (against
// another database) must not take this run's batches.
const TASK_QUEUE = `${TELEMETRY_TASK_QUEUE}-bench-${randomUUID()}`;

/** One complete export run (continue-as-new included), as a manual start would run it. */
async function exportEverything(): Promise<TelemetryExportResult> {
  return (await temporalClient()).workflow.execute(TELEMETRY_EXPORT_WORKFLOW, {
    taskQueue: TASK_QUEUE,
    workflowId: manualTelemetryExportWorkflowId(randomUUID()),
    args: [telemetryExportInput(shared().config)],
  });
}

async function benchWorker(): Promise<Worker> {
  const { config, db, providers } = shared();
  const entry = taskQueueWorkers(config, db, providers).find((w) => w.taskQueue === TELEMETRY_TASK_QUEUE);
  return Worker.create({
    connection: await nativeConnection(),
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: TASK_QUEUE,
    workflowBundle: await workflowBundle(),
    activities: entry?.activities,
    dataConverter: dataConverterOf(config),
  });
}

/** (b) The same batches through Postgres → gzip → /dev/null: what the export does minus S3 and the bookkeeping. */
async function pipelineToDevNull(batchSize: number): Promise<number> {
  const { db } = shared();
  const { rows: batches } = (await db.raw(
    `SELECT min(id) - 1 AS "afterId", max(id) AS "throughId"
     FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / ? AS batch FROM telemetry_events
           WHERE status = 'accepted' AND id > (SELECT last_event_id FROM telemetry_checkpoints WHERE name = ?)) numbered
     GROUP BY batch ORDER BY batch`,
    [batchSize, EXPORT_CHECKPOINT],
  )) as { rows: EventRange[] };
  const started = process.hrtime.bigint();
  for (const range of batches) {
    await pipeline(Readable.from(batchLines(db, range)), createGzip(), createWriteStream('/dev/null'));
  }
  return seconds(started);
}

/**
 * Every run starts from empty telemetry tables, so runs compare (a table grown by earlier
 * runs slows both sides by a different amount). Only a database named for benchmarks is emptied.
 */
async function emptyTelemetryTables(): Promise<void> {
  const { db } = shared();
  const { rows } = (await db.raw('SELECT current_database() AS name')) as { rows: Array<{ name: string }> };
  if (!rows[0].name.includes('bench')) {
    throw new Error(`bench:telemetry empties the telemetry tables: give it a database of its own, named *bench*, not ${rows[0].name}`);
  }
  await db.raw('TRUNCATE telemetry_events, telemetry_exports, telemetry_consents');
  await db('telemetry_checkpoints').update({ lastEventId: 0, checkpointAt: null, lastBatchId: null });
  await db.raw('VACUUM ANALYZE telemetry_events');
}

async function main(): Promise<void> {
  installRuntime(logger);
  logger.level = 'warn';
  const { db, config } = shared();
  await db.migrate.latest();
  await emptyTelemetryTables();
  await grantConsents();
  // The API in a process of its own, as it is deployed: the bench's clients do not share its event loop.
  const api = await startApiProcess({
    RATE_LIMIT_BURST: '1000000',
    RATE_LIMIT_PER_MINUTE: '1000000',
    ...(CPU_PROF_DIR ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${CPU_PROF_DIR}` } : {}),
  });
  const { apiRate, copyRate, apiCpuPerRequest } = await benchIngestion(api.url, api.child.pid ?? 0).finally(() => stopApi(api.child));

  const worker = await benchWorker();
  await worker.runUntil(async () => {
    await exportEverything();

    await copyEvents(copyText(benchEvents(EXPORT_EVENTS, `export-${randomUUID()}`)));
    await db.raw('VACUUM ANALYZE telemetry_events');
    const baseline = await pipelineToDevNull(config.TELEMETRY_EXPORT_BATCH_SIZE);
    const started = process.hrtime.bigint();
    const result = await exportEverything();
    const exportSeconds = seconds(started);
    if (result.events !== EXPORT_EVENTS) throw new Error(`exported ${result.events} of ${EXPORT_EVENTS}`);

    console.log('| measure | events | platform | baseline | ratio |');
    console.log('| --- | --- | --- | --- | --- |');
    console.log(
      `| (a) ingestion, events/s (API process: ${CLIENTS} clients × 1000-event requests; baseline: COPY) | ${INGEST_EVENTS} | ` +
        `${apiRate.toFixed(0)} | ${copyRate.toFixed(0)} | ${(apiRate / copyRate).toFixed(3)} |`,
    );
    console.log(`| load average (1 min) at the end | | ${loadavg()[0].toFixed(1)} | | |`);
    console.log(`| (a) API process CPU per 1000-event request, ms | ${INGEST_EVENTS} | ${apiCpuPerRequest.toFixed(1)} | | |`);
    console.log(
      `| (b) export, seconds (${result.batches} batches of ${config.TELEMETRY_EXPORT_BATCH_SIZE}, ${result.runs} runs; ` +
        `baseline: Postgres → gzip → /dev/null) | ${EXPORT_EVENTS} | ${exportSeconds.toFixed(1)} | ${baseline.toFixed(1)} | ` +
        `${(baseline / exportSeconds).toFixed(3)} |`,
    );
  });
  await closeShared();
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
