// `npm run bench:releases [-- --evaluations 200]`: gate evaluations per second through
// the whole platform (API → workflow Update → validator → local activity → Postgres → answer),
// beside the bare Postgres write the activity does (the same transaction, called in
// process) in the same run, every side in alternating blocks so all meet the same machine load.
// The ratio is what BENCHMARKS.md records. The other lines split the gap: the same Update from a
// bare client (no API), the run's GET (the answer's read), and the FLOOR, Update round trips on
// a trivial workflow of its own (updateFloor.workflows.ts) that show what Temporal itself costs here.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createReleaseActivities } from '../../activities/releases';
import { createOrFindRelease } from '../../services/releases';
import { logger } from '../../lib/logger';
import { releaseChecklist } from '../../lib/releaseChecklist';
import type { EvaluationStatus } from '../../schemas/releases';
import { RELEASES_TASK_QUEUE } from '../../workflows/releaseEvaluation.contract';
import { installRuntime } from '../../workers/runtime';
import { call, tokenFor } from '../../test/support/http';
import { PASSING_METRICS, releaseBody } from '../../test/support/releases';
import { closeShared, createWorker, shared, startApi, temporalClient } from '../../test/support/shared';
import type { WorkerOptions } from '@temporalio/worker';
import { startFloor } from './updateFloor';
import { evaluateReleaseGate } from '../../lib/clients/releases';

// --floor-variant '<WorkerOptions JSON>' adds floor lines from a second floor worker with those options (a candidate setting);
// --external-worker leaves the releases task queue to a worker process started beside the bench (`WORKER_TASK_QUEUES=releases`).
const { values } = parseArgs({
  options: { evaluations: { type: 'string', default: '200' }, 'floor-variant': { type: 'string' }, 'external-worker': { type: 'boolean', default: false } },
});
const EVALUATIONS = Number(values.evaluations);
const statusOf = (i: number): EvaluationStatus => (i % 2 === 0 ? 'pass' : 'fail');

/** Evaluations in a block before the other side takes its turn: both sides see the same machine load. */
const BLOCK = 20;

interface SideTiming {
  perSecond: number;
  /** Mean ms of the first and the last block: whether the run's growing history slows an Update down. */
  firstBlockMs: number;
  lastBlockMs: number;
}

/** Each side run in alternating blocks of BLOCK (after one warm-up each: connections, the run's first task). */
async function alternating(count: number, sides: ((i: number) => Promise<void>)[]): Promise<SideTiming[]> {
  for (const once of sides) await once(0);
  const blocks: number[][] = sides.map(() => []);
  for (let first = 1; first <= count; first += BLOCK) {
    const last = Math.min(first + BLOCK, count + 1);
    for (const [k, once] of sides.entries()) {
      const started = process.hrtime.bigint();
      for (let i = first; i < last; i += 1) await once(i);
      blocks[k].push(Number(process.hrtime.bigint() - started) / 1e6 / (last - first));
    }
  }
  return blocks.map((ms) => ({
    perSecond: (1000 * ms.length) / ms.reduce((a, b) => a + b, 0),
    firstBlockMs: ms[0],
    lastBlockMs: ms[ms.length - 1],
  }));
}

const SIDE_LABELS = [
  ['platform', 'platform: API → evaluateGate Update → answer'],
  ['write', 'bare Postgres write (recordReleaseState)'],
  ['client', 'evaluateGate Update from a bare client (no API)'],
  ['read', 'GET of the platform run through the API (what the answer reads and sends)'],
  ['noop', 'FLOOR: no-op Update'],
  ['localNoop', 'FLOOR: Update running a no-op local activity'],
  ['localWrite', 'FLOOR: Update whose local activity makes the bare write'],
] as const;

/** The bare write into a run of its own, with the same activity code and no Temporal in between. */
async function writerOfNewRun(): Promise<(i: number) => Promise<void>> {
  const { config, db } = shared();
  const run = await createOrFindRelease(db, releaseBody(), releaseChecklist(config), 'bench');
  const { recordReleaseState } = createReleaseActivities({ db, changeFreeze: { cron: '0 0 1 1 *', timezone: 'UTC', durationMinutes: 1 } });
  return (i) =>
    recordReleaseState({
      publicId: run.publicId,
      revision: i + 1,
      status: 'pending',
      readinessScore: 0,
      gates: run.gates,
      evaluations: [
        { seq: i + 1, gateKey: 'change', status: statusOf(i), source: 'manual', metrics: null, notes: null, evidenceUrl: null, actor: 'bench' },
      ],
    });
}

async function main(): Promise<void> {
  installRuntime(logger);
  logger.level = 'warn';
  const { config, db } = shared();
  await db.migrate.latest();
  const api = await startApi({ RATE_LIMIT_BURST: 100000 });
  const admin = tokenFor('admin', 'bench');
  const worker = values['external-worker'] ? undefined : await createWorker(RELEASES_TASK_QUEUE);

  const createRun = async (): Promise<string> => {
    const created = await call(api.url, 'POST', '/api/v1/releases/runs', {
      token: admin,
      body: releaseBody(24 * 3_600_000, { metrics: PASSING_METRICS }),
    });
    return (created.body as { release: { publicId: string } }).release.publicId;
  };
  const publicId = await createRun();
  const platform = async (i: number) => {
    const res = await call(api.url, 'POST', `/api/v1/releases/runs/${publicId}/gates/change/evaluations`, {
      token: admin,
      body: { status: statusOf(i) },
    });
    if (res.status !== 200) throw new Error(`evaluation ${i} answered ${res.status}: ${JSON.stringify(res.body)}`);
  };

  const read = async () => {
    const res = await call(api.url, 'GET', `/api/v1/releases/runs/${publicId}`, { token: admin });
    if (res.status !== 200) throw new Error(`the run's GET answered ${res.status}`);
  };

  const client = await temporalClient();
  const direct = await createRun();
  const viaClient = async (i: number) => void (await evaluateReleaseGate(client, direct, { gateKey: 'change', status: statusOf(i), actor: 'bench' }));
  const floor = await startFloor(config, client, await writerOfNewRun());
  const variantOptions = values['floor-variant'] ? (JSON.parse(values['floor-variant']) as Partial<WorkerOptions>) : undefined;
  const variant = variantOptions && (await startFloor(config, client, await writerOfNewRun(), variantOptions, 'variant'));
  const variantSides = variant ? Object.fromEntries(Object.entries(variant.sides).map(([name, side]) => [`variant ${name}`, side])) : {};
  const write = await writerOfNewRun();
  const sides: Record<string, (i: number) => Promise<void>> = { platform, write, client: viaClient, read, ...floor.sides, ...variantSides };
  const measure = async () => {
    const timings = await alternating(EVALUATIONS, Object.values(sides));
    await Promise.all([floor.stop(), variant?.stop()]);
    return timings;
  };
  const running = floor.worker.runUntil(variant ? variant.worker.runUntil(measure()) : measure());
  const timings = await (worker ? worker.runUntil(running) : running);
  const timing = Object.fromEntries(Object.keys(sides).map((name, k) => [name, timings[k]]));

  const load = loadavg()[0].toFixed(1);
  const ratio = (name: string) => (timing[name].perSecond / timing.write.perSecond).toFixed(3);
  console.log('| evaluations | platform evaluations/s | bare Postgres writes/s | ratio | load (1 min) |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(`| ${EVALUATIONS} | ${timing.platform.perSecond.toFixed(1)} | ${timing.write.perSecond.toFixed(1)} | ${ratio('platform')} | ${load} |`);
  console.log('');
  console.log('| side (same run) | per second | ms each | first / last block, ms each | ratio to the bare write | load (1 min) |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  const variantLabels = Object.keys(variantSides).map((name) => [name, `${name} ${values['floor-variant']}`] as const);
  for (const [name, label] of [...SIDE_LABELS, ...variantLabels]) {
    const { perSecond, firstBlockMs, lastBlockMs } = timing[name];
    const blocks = `${firstBlockMs.toFixed(1)} / ${lastBlockMs.toFixed(1)}`;
    console.log(`| ${label} | ${perSecond.toFixed(1)} | ${(1000 / perSecond).toFixed(2)} | ${blocks} | ${ratio(name)} | ${load} |`);
  }
  await closeShared();
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
