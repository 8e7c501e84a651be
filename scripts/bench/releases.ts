// `npm run bench:releases [-- --evaluations 200]`: gate evaluations per second through
// the whole platform (API → workflow Update → validator → activity → Postgres → answer),
// beside the bare Postgres write the activity does (the same transaction, called in
// process) in the same run. The ratio is what BENCHMARKS.md records.
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

async function perSecond(count: number, once: (i: number) => Promise<void>): Promise<number> {
  await once(0); // warm-up: first connections, first workflow task of the run
  const started = process.hrtime.bigint();
  for (let i = 1; i <= count; i += 1) await once(i);
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
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
  const platform = await worker.runUntil(
    perSecond(EVALUATIONS, async (i) => {
      const res = await call(api.url, 'POST', `/api/v1/releases/runs/${publicId}/gates/change/evaluations`, {
        token: admin,
        body: { status: statusOf(i) },
      });
      if (res.status !== 200) throw new Error(`evaluation ${i} answered ${res.status}: ${JSON.stringify(res.body)}`);
    }),
  );

  // The baseline writes into a run of its own, with the same activity code and no Temporal in between.
  const bare = await createOrFindRelease(db, releaseBody(), releaseChecklist(config), 'bench');
  const { recordReleaseState } = createReleaseActivities({ db, changeFreeze: { cron: '0 0 1 1 *', timezone: 'UTC', durationMinutes: 1 } });
  const direct = await perSecond(EVALUATIONS, (i) =>
    recordReleaseState({
      publicId: bare.publicId,
      revision: i + 1,
      status: 'pending',
      readinessScore: 0,
      gates: bare.gates,
      evaluations: [
        { seq: i + 1, gateKey: 'change', status: statusOf(i), source: 'manual', metrics: null, notes: null, evidenceUrl: null, actor: 'bench' },
      ],
    }),
  );

  console.log('| evaluations | platform evaluations/s | bare Postgres writes/s | ratio |');
  console.log('| --- | --- | --- | --- |');
  console.log(`| ${EVALUATIONS} | ${platform.toFixed(1)} | ${direct.toFixed(1)} | ${(platform / direct).toFixed(3)} |`);
  await closeShared();
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
