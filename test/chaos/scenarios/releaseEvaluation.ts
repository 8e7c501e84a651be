import { expect } from 'chai';
import { ReleaseGateEvaluation, ReleaseRun } from '../../../db/models/ReleaseRun';
import { call, tokenFor } from '../../support/http';
import { PASSING_METRICS, releaseBody } from '../../support/releases';
import { shared } from '../../support/shared';
import { waitFor } from '../../support/wait';
import type { Scenario } from '../matrix/types';
import { settledResult, times, type RunRef } from './runs';

/**
 * The automatic gates are evaluated when a run opens; the manual ones must arrive before its change window
 * starts, when the run closes (approved only if every gate passed). One manual gate is evaluated before the
 * fault, the other through it: long enough for a part to come back on this 2-core machine.
 */
const WINDOW_STARTS_IN_MS = 30_000;
const ALL_GATES = ['change', 'compliance', 'observability', 'quality', 'security'];

interface Releasing {
  publicId: string;
  run: RunRef;
}

/** A gate evaluation, sent again while the API cannot answer (a client retrying through the outage). */
async function evaluateUntilAnswered(apiUrl: string, token: string, publicId: string, gate: string): Promise<void> {
  await waitFor(`the ${gate} evaluation of ${publicId} to be answered`, async () => {
    const res = await call(apiUrl, 'POST', `/api/v1/releases/runs/${publicId}/gates/${gate}/evaluations`, { token, body: { status: 'pass' } }).catch(() => null);
    return res && res.status < 500 ? true : undefined;
  }, 180_000);
}

export const releaseEvaluation: Scenario<Releasing[]> = {
  process: 'release evaluation',
  stripeCalls: [],
  async start(ctx) {
    const operator = tokenFor('operator', 'chaos-operator');
    const releases = await times(ctx.runs, async () => {
      const res = await call(ctx.api.url, 'POST', '/api/v1/releases/runs', { token: operator, body: releaseBody(WINDOW_STARTS_IN_MS, { metrics: PASSING_METRICS }) });
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      return { publicId: res.body.release.publicId as string, run: res.body.run as RunRef };
    });
    await waitFor('every run to be opened', async () =>
      (await ReleaseRun.query(shared().db).whereIn('publicId', releases.map((r) => r.publicId)).where('revision', '>=', 1)).length === releases.length || undefined,
    );
    await Promise.all(releases.map((r) => evaluateUntilAnswered(ctx.api.url, operator, r.publicId, 'compliance')));
    return releases;
  },
  runsOf: (releases) => releases.map((r) => r.run),
  async settle(ctx, releases, checks) {
    const operator = tokenFor('operator', 'chaos-operator');
    const db = shared().db;
    await Promise.all(releases.map((r) => evaluateUntilAnswered(ctx.api.url, operator, r.publicId, 'change')));
    for (const { publicId, run } of releases) {
      const result = await settledResult<{ status: string; readinessScore: number }>(run);
      checks.equal([result.status, result.readinessScore], ['approved', 100], `release ${publicId}`);
      checks.equal((await ReleaseRun.query(db).findById(publicId))?.status, result.status, `release ${publicId} row agrees with its run`);
      const evaluations = await ReleaseGateEvaluation.query(db).where('releaseRunId', publicId).orderBy('seq');
      checks.equal(evaluations.map((e) => e.gateKey).sort(), ALL_GATES, `every gate of ${publicId} evaluated once`);
      checks.equal(evaluations.map((e) => e.seq), [1, 2, 3, 4, 5], `evaluations of ${publicId} numbered without gap or double`);
    }
  },
};
