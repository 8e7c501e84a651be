import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { ReleaseGateEvaluation, ReleaseRun } from '../../db/models/ReleaseRun';
import { call, tokenFor } from '../support/http';
import { PASSING_METRICS, releaseBody } from '../support/releases';
import { shared, startApi, temporalClient } from '../support/shared';
import { killHard, startWorkerProcess } from '../support/workerProcess';
import { waitFor } from '../support/wait';

// Long enough for two worker processes to start on a loaded 2-core machine before the window opens.
const WINDOW_STARTS_IN_MS = 45_000;

describe('chaos: SIGKILL the worker while a release run is open (SPEC §6)', () => {
  const workers: ChildProcess[] = [];
  afterEach(async () => {
    for (const w of workers.splice(0)) await killHard(w);
  });

  it('a new worker takes the next evaluation and closes the run approved, every evaluation recorded once', async () => {
    const api = await startApi();
    const operator = tokenFor('operator', 'chaos-operator');
    const { db } = shared();
    const created = await call(api.url, 'POST', '/api/v1/releases/runs', {
      token: operator,
      body: releaseBody(WINDOW_STARTS_IN_MS, { metrics: PASSING_METRICS }),
    });
    expect(created.status).to.equal(202);
    const { publicId } = created.body.release;
    const evaluate = (gate: string) =>
      call(api.url, 'POST', `/api/v1/releases/runs/${publicId}/gates/${gate}/evaluations`, { token: operator, body: { status: 'pass' } });

    const first = startWorkerProcess();
    workers.push(first);
    await waitFor('the run to be opened', async () => ((await ReleaseRun.query(db).findById(publicId))?.revision ?? 0) >= 1 || undefined);
    const before = await evaluate('compliance');
    expect(before.status, JSON.stringify(before.body)).to.equal(200);
    await killHard(first);

    workers.push(startWorkerProcess());
    const after = await evaluate('change');
    expect(after.status, JSON.stringify(after.body)).to.equal(200);
    expect(after.body.release).to.include({ status: 'ready', readinessScore: 100 });

    const client = await temporalClient();
    const result = await client.workflow.getHandle(created.body.run.workflowId, created.body.run.runId).result();
    expect(result).to.deep.equal({ publicId, status: 'approved', readinessScore: 100 });

    const evaluations = await ReleaseGateEvaluation.query(db).where('releaseRunId', publicId).orderBy('seq');
    expect(evaluations.map((e) => [e.seq, e.gateKey, e.source])).to.deep.equal([
      [1, 'quality', 'auto'],
      [2, 'security', 'auto'],
      [3, 'observability', 'auto'],
      [4, 'compliance', 'manual'],
      [5, 'change', 'manual'],
    ]);
    expect((await ReleaseRun.query(db).findById(publicId))?.status).to.equal('approved');
  });
});
