// `npm run bench:releases [-- --evaluations 200]`: gate evaluations per second through
// the whole platform (API → workflow Update → validator → activity → Postgres → answer),
// beside the bare Postgres write the activity does (the same transaction, called in
// process) in the same run, the two in alternating blocks so both meet the same machine load.
// The ratio is what BENCHMARKS.md records.
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
import { closeShared, createWorker, shared, startApi } from '../../test/support/shared';

const { values } = parseArgs({ options: { evaluations: { type: 'string', default: '200' } } });
const EVALUATIONS = Number(values.evaluations);
const statusOf = (i: number): EvaluationStatus => (i % 2 === 0 ? 'pass' : 'fail');

/** Evaluations in a block before the other side takes its turn: both sides see the same machine load. */
const BLOCK = 20;

/** Per second of each side, run in alternating blocks of BLOCK (after one warm-up each: connections, the run's first task). */
async function alternating(count: number, sides: ((i: number) => Promise<void>)[]): Promise<number[]> {
  for (const once of sides) await once(0);
  const elapsed = sides.map(() => 0);
  for (let first = 1; first <= count; first += BLOCK) {
    for (const [k, once] of sides.entries()) {
      const started = process.hrtime.bigint();
      for (let i = first; i < Math.min(first + BLOCK, count + 1); i += 1) await once(i);
      elapsed[k] += Number(process.hrtime.bigint() - started) / 1e9;
    }
  }
  return elapsed.map((seconds) => count / seconds);
}

async function main(): Promise<void> {
  installRuntime(logger);
  logger.level = 'warn';
  const { config, db } = shared();
  await db.migrate.latest();
  const api = await startApi({ RATE_LIMIT_BURST: 100000 });
  const admin = tokenFor('admin', 'bench');
  const worker = await createWorker(RELEASES_TASK_QUEUE);

  const created = await call(api.url, 'POST', '/api/v1/releases/runs', {
    token: admin,
    body: releaseBody(24 * 3_600_000, { metrics: PASSING_METRICS }),
  });
  const { publicId } = created.body.release;
  const platform = async (i: number) => {
    const res = await call(api.url, 'POST', `/api/v1/releases/runs/${publicId}/gates/change/evaluations`, {
      token: admin,
      body: { status: statusOf(i) },
    });
    if (res.status !== 200) throw new Error(`evaluation ${i} answered ${res.status}: ${JSON.stringify(res.body)}`);
  };

  // The baseline writes into a run of its own, with the same activity code and no Temporal in between.
  const bare = await createOrFindRelease(db, releaseBody(), releaseChecklist(config), 'bench');
  const { recordReleaseState } = createReleaseActivities({ db, changeFreeze: { cron: '0 0 1 1 *', timezone: 'UTC', durationMinutes: 1 } });
  const write = (i: number) =>
    recordReleaseState({
      publicId: bare.publicId,
      revision: i + 1,
      status: 'pending',
      readinessScore: 0,
      gates: bare.gates,
      evaluations: [
        { seq: i + 1, gateKey: 'change', status: statusOf(i), source: 'manual', metrics: null, notes: null, evidenceUrl: null, actor: 'bench' },
      ],
    });
  const [throughPlatform, direct] = await worker.runUntil(alternating(EVALUATIONS, [platform, write]));

  console.log('| evaluations | platform evaluations/s | bare Postgres writes/s | ratio | load (1 min) |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(`| ${EVALUATIONS} | ${throughPlatform.toFixed(1)} | ${direct.toFixed(1)} | ${(throughPlatform / direct).toFixed(3)} | ${loadavg()[0].toFixed(1)} |`);
  await closeShared();
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
