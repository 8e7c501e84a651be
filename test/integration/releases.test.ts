import { expect } from 'chai';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { createReleaseActivities } from '../../activities/releases';
import { RELEASES_TASK_QUEUE, evaluateGateUpdate } from '../../workflows/releaseEvaluation.contract';
import { call, tokenFor } from '../support/http';
import { waitFor } from '../support/wait';
import { DAY_MS, FAILING_METRICS, HOUR_MS, PASSING_METRICS, releaseBody } from '../support/releases';
import { createWorker, shared, startApi, temporalClient, type TestApi } from '../support/shared';

describe('release readiness through the API (SPEC §4.4)', () => {
  let api: TestApi;
  const operator = tokenFor('operator');
  const admin = tokenFor('admin', 'release-admin');

  before(async () => {
    api = await startApi();
  });

  async function createRelease(body: object) {
    const res = await call(api.url, 'POST', '/api/v1/releases/runs', { token: operator, body });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return res.body;
  }

  const evaluate = (publicId: string, gate: string, body: object, token = admin) =>
    call(api.url, 'POST', `/api/v1/releases/runs/${publicId}/gates/${gate}/evaluations`, { token, body });

  const gateOf = (release: any, key: string) => release.gates.find((g: any) => g.key === key);

  async function evaluationRows(publicId: string): Promise<number> {
    const [{ n }] = await shared().db('release_gate_evaluations').where('releaseRunId', publicId).count('* as n');
    return Number(n);
  }

  it('serves the checklist from config: five gates, thresholds, required flags and default owners', async () => {
    const { config } = shared();
    const res = await call(api.url, 'GET', '/api/v1/releases/checklist', { token: tokenFor('support') });
    expect(res.status).to.equal(200);
    expect(res.body.gates.map((g: any) => g.key)).to.deep.equal(['quality', 'security', 'observability', 'compliance', 'change']);
    expect(res.body.gates.every((g: any) => g.required && g.defaultOwners.length > 0)).to.equal(true);
    expect(gateOf(res.body, 'quality').criteria).to.deep.equal([
      { metric: 'coverage', comparison: 'atLeast', threshold: config.RELEASE_MIN_COVERAGE },
      { metric: 'testFailureRate', comparison: 'atMost', threshold: config.RELEASE_MAX_TEST_FAILURE_RATE },
    ]);
    expect(gateOf(res.body, 'security').kind).to.equal('auto');
    expect(gateOf(res.body, 'change')).to.include({ kind: 'manual' });
    expect(res.body.changeFreeze).to.deep.equal({
      cron: config.RELEASE_CHANGE_FREEZE_CRON,
      timezone: config.RELEASE_CHANGE_FREEZE_TIMEZONE,
      durationMinutes: config.RELEASE_CHANGE_FREEZE_DURATION_MINUTES,
    });

    const narrowed = await startApi({ RELEASE_REQUIRED_GATES: ['security', 'change'] });
    const partial = await call(narrowed.url, 'GET', '/api/v1/releases/checklist', { token: operator });
    expect(partial.body.gates.filter((g: any) => g.required).map((g: any) => g.key)).to.deep.equal(['security', 'change']);
    expect((await call(api.url, 'GET', '/api/v1/releases/checklist', { token: tokenFor('learner') })).status).to.equal(403);
  });

  it('good metrics and manual passes: ready with score 100, every evaluation recorded with its actor', async () => {
    const created = await createRelease(releaseBody(DAY_MS, { metrics: PASSING_METRICS }));
    const { publicId } = created.release;
    expect(created.run.workflowId).to.equal(`release:${publicId}`);
    expect(created.release).to.include({ status: 'pending', readinessScore: 0 });

    const worker = await createWorker(RELEASES_TASK_QUEUE);
    const release = await worker.runUntil(async () => {
      const first = await evaluate(publicId, 'compliance', { status: 'pass', notes: 'DPIA signed', evidenceUrl: 'https://evidence.example/dpia' });
      expect(first.status, JSON.stringify(first.body)).to.equal(200);
      expect(first.body.release).to.include({ status: 'pending', readinessScore: 80 });
      const second = await evaluate(publicId, 'change', { status: 'pass' });
      expect(second.status).to.equal(200);
      return second.body.release;
    });
    expect(release).to.include({ status: 'ready', readinessScore: 100 });
    expect(release.blockingGates).to.deep.equal([]);
    expect(release.gates.map((g: any) => g.status)).to.deep.equal(['pass', 'pass', 'pass', 'pass', 'pass']);
    const [quality] = gateOf(release, 'quality').evaluations;
    expect(quality).to.include({ status: 'pass', source: 'auto', actor: 'workflow' });
    expect(quality.metrics).to.deep.equal({ coverage: PASSING_METRICS.coverage, testFailureRate: PASSING_METRICS.testFailureRate });
    expect(gateOf(release, 'compliance').evaluations[0]).to.include({
      status: 'pass', source: 'manual', actor: 'release-admin', notes: 'DPIA signed', evidenceUrl: 'https://evidence.example/dpia',
    });
    expect(await evaluationRows(publicId)).to.equal(5);

    const fetched = await call(api.url, 'GET', `/api/v1/releases/runs/${publicId}`, { token: tokenFor('support') });
    expect(fetched.body.release).to.deep.equal(release);
  });

  it('a run that failed on infrastructure, reset once the database is back, takes up the release where it was', async () => {
    const created = await createRelease(releaseBody(DAY_MS, { metrics: PASSING_METRICS }));
    const { publicId } = created.release;
    const healthy = await createWorker(RELEASES_TASK_QUEUE);
    await healthy.runUntil(async () => expect((await evaluate(publicId, 'compliance', { status: 'pass' })).status).to.equal(200));

    // The next write is refused for good (the database gone past every retry): the run fails, the record says so.
    const refusing = await createWorker(RELEASES_TASK_QUEUE, {
      recordReleaseState: async () => {
        throw ApplicationFailure.nonRetryable('the database refused the write', 'DatabaseUnavailable');
      },
    });
    const client = await temporalClient();
    await refusing.runUntil(async () => {
      expect((await evaluate(publicId, 'change', { status: 'pass' })).status).to.be.at.least(500);
      await client.workflow.getHandle(created.run.workflowId).result().catch(() => undefined);
    });
    const status = async () => (await call(api.url, 'GET', `/api/v1/releases/runs/${publicId}`, { token: operator })).body.release;
    expect((await status()).status).to.equal('failed');

    const replay = await call(api.url, 'POST', `/api/v1/runs/${encodeURIComponent(created.run.workflowId)}/replay`, {
      token: operator,
      body: { mode: 'reset', reason: 'database restored' },
    });
    expect(replay.status, JSON.stringify(replay.body)).to.equal(202);
    const resumed = await (await createWorker(RELEASES_TASK_QUEUE)).runUntil(async () => {
      const release = await waitFor('the replayed run to open the record again', async () => {
        const current = await status();
        return current.status === 'failed' ? undefined : current;
      });
      expect(release.status, 'the replayed run opens the record again').to.not.equal('failed');
      const change = await evaluate(publicId, 'change', { status: 'pass' });
      expect(change.status, JSON.stringify(change.body)).to.equal(200);
      return change.body.release;
    });
    expect(resumed).to.include({ status: 'ready', readinessScore: 100 });
    expect(gateOf(resumed, 'compliance').status, 'the evaluation made before the failure still counts').to.equal('pass');
    const rows = await shared().db('release_gate_evaluations').where('releaseRunId', publicId).orderBy('seq');
    expect(rows.map((r: any) => r.seq), 'one gap-free numbering across the replay').to.deep.equal(rows.map((_: unknown, i: number) => i + 1));
    expect(rows.filter((r: any) => r.gateKey === 'compliance'), 'the evaluation recorded before the failure is kept once').to.have.length(1);
  });

  it('failing metrics: blocked with the failing gates named; passing evaluations of those gates make it ready', async () => {
    const { release: created } = await createRelease(releaseBody(DAY_MS, { metrics: FAILING_METRICS }));
    const { publicId } = created;
    const worker = await createWorker(RELEASES_TASK_QUEUE);
    const final = await worker.runUntil(async () => {
      const blocked = (await evaluate(publicId, 'compliance', { status: 'pass' })).body.release;
      expect(blocked.status).to.equal('blocked');
      expect(blocked.blockingGates).to.deep.equal(['quality', 'security']);
      expect(blocked.readinessScore).to.equal(40);
      expect(gateOf(blocked, 'quality').evaluations[0].notes).to.contain('coverage 0.55 < 0.8');
      expect(gateOf(blocked, 'security').evaluations[0].notes).to.contain('criticalVulnerabilities 2 > 0');

      const fixed = await evaluate(publicId, 'security', { status: 'pass', metrics: { criticalVulnerabilities: 0, highVulnerabilities: 1 } });
      expect(fixed.status).to.equal(200);
      expect(fixed.body.release.blockingGates).to.deep.equal(['quality']);

      const remeasured = await call(api.url, 'POST', `/api/v1/releases/runs/${publicId}/evaluate`, {
        token: operator,
        body: { metrics: { coverage: 0.85, testFailureRate: 0.01 } },
      });
      expect(remeasured.status, JSON.stringify(remeasured.body)).to.equal(200);
      expect(remeasured.body.release.blockingGates).to.deep.equal([]);
      expect(remeasured.body.release.status).to.equal('pending');
      return (await evaluate(publicId, 'change', { status: 'pass' })).body.release;
    });
    expect(final).to.include({ status: 'ready', readinessScore: 100 });
    expect(gateOf(final, 'quality').evaluations.map((e: any) => e.status)).to.deep.equal(['fail', 'pass']);
  });

  it('a waived required gate counts as passed and is recorded as waived', async () => {
    const { release: created } = await createRelease(releaseBody(DAY_MS, { metrics: PASSING_METRICS }));
    const worker = await createWorker(RELEASES_TASK_QUEUE);
    const release = await worker.runUntil(async () => {
      await evaluate(created.publicId, 'change', { status: 'pass' });
      const res = await evaluate(created.publicId, 'compliance', { status: 'waived', notes: 'audit deferred by the DPO' });
      expect(res.status).to.equal(200);
      return res.body.release;
    });
    expect(release).to.include({ status: 'ready', readinessScore: 100 });
    expect(gateOf(release, 'compliance').status).to.equal('waived');
    expect(gateOf(release, 'compliance').evaluations).to.have.length(1);
    expect(gateOf(release, 'compliance').evaluations[0]).to.include({ status: 'waived', notes: 'audit deferred by the DPO' });
    const audit = await shared().db('audit_events').where({ action: 'release_gate.waive', target: `release_gate:${created.publicId}:compliance` });
    expect(audit).to.have.length(1);
    expect(audit[0]).to.include({ reason: 'audit deferred by the DPO', outcome: 'succeeded' });
    expect(await shared().db('audit_events').where('target', 'like', `release_gate:${created.publicId}:%`), 'a pass is no waiver').to.have.length(1);
  });

  it('invalid evaluations are rejected with 4xx envelopes and change neither the records nor the history', async () => {
    const { release: created } = await createRelease(releaseBody(DAY_MS, { metrics: PASSING_METRICS }));
    const { publicId } = created;
    const client = await temporalClient();
    const handle = client.workflow.getHandle(`release:${publicId}`);
    const worker = await createWorker(RELEASES_TASK_QUEUE);
    await worker.runUntil(async () => {
      await evaluate(publicId, 'change', { status: 'fail', notes: 'CAB has not met' });
      const rowsBefore = await evaluationRows(publicId);
      const historyBefore = (await handle.describe()).historyLength;
      const recordBefore = (await call(api.url, 'GET', `/api/v1/releases/runs/${publicId}`, { token: admin })).body.release;

      const unknownGate = await evaluate(publicId, 'performance', { status: 'pass' });
      expect(unknownGate.status).to.equal(404);
      expect(unknownGate.body).to.include({ type: 'not_found', code: 'UNKNOWN_GATE' });
      expect(unknownGate.body.requestId).to.be.a('string');

      const contradiction = await evaluate(publicId, 'quality', { status: 'pass', metrics: { coverage: 0.2 } });
      expect(contradiction.status).to.equal(422);
      expect(contradiction.body).to.include({ type: 'validation_error', code: 'METRICS_CONTRADICT_STATUS' });

      const incomplete = await call(api.url, 'POST', `/api/v1/releases/runs/${publicId}/evaluate`, {
        token: operator,
        body: { metrics: { coverage: 0.9 } },
      });
      expect(incomplete.status).to.equal(422);
      expect(incomplete.body.code).to.equal('METRICS_INCOMPLETE');

      for (const body of [{ status: 'maybe' }, { status: 'pass', extra: 1 }, { status: 'pass', metrics: { coverage: 3 } }, {}]) {
        const res = await evaluate(publicId, 'quality', body);
        expect(res.status, JSON.stringify(body)).to.equal(400);
        expect(res.body.type).to.equal('validation_error');
      }
      expect((await evaluate(publicId, 'quality', { status: 'pass' }, tokenFor('support'))).status).to.equal(403);

      // Past the API's schema, the workflow's own validator refuses a bad status too.
      const direct = await handle
        .executeUpdate(evaluateGateUpdate, { args: [{ gateKey: 'quality', status: 'maybe' as 'pass', actor: 'direct-client' }] })
        .catch((err: unknown) => err);
      expect(direct).to.be.instanceOf(WorkflowUpdateFailedError);
      const cause = (direct as WorkflowUpdateFailedError).cause;
      expect(cause).to.be.instanceOf(ApplicationFailure);
      expect((cause as ApplicationFailure).type).to.equal('InvalidEvaluation');

      expect(await evaluationRows(publicId)).to.equal(rowsBefore);
      expect((await handle.describe()).historyLength).to.equal(historyBefore);
      const recordAfter = (await call(api.url, 'GET', `/api/v1/releases/runs/${publicId}`, { token: admin })).body.release;
      expect(recordAfter).to.deep.equal(recordBefore);
    });

    const unknownRun = await evaluate('00000000-0000-4000-8000-000000000000', 'quality', { status: 'pass' });
    expect(unknownRun.status).to.equal(404);
  });

  it('an evaluation of a closed run → 409; the run closed expired at its window start', async () => {
    const { release: created } = await createRelease(releaseBody(4000));
    const client = await temporalClient();
    const worker = await createWorker(RELEASES_TASK_QUEUE);
    const result = await worker.runUntil(client.workflow.getHandle(`release:${created.publicId}`).result());
    expect(result).to.deep.equal({ publicId: created.publicId, status: 'expired', readinessScore: 0 });

    const late = await evaluate(created.publicId, 'change', { status: 'pass' });
    expect(late.status).to.equal(409);
    expect(late.body).to.include({ type: 'conflict', code: 'RELEASE_CLOSED' });
    const lateMetrics = await call(api.url, 'POST', `/api/v1/releases/runs/${created.publicId}/evaluate`, { token: operator });
    expect(lateMetrics.status).to.equal(409);
    expect(await evaluationRows(created.publicId)).to.equal(0);
    const fetched = (await call(api.url, 'GET', `/api/v1/releases/runs/${created.publicId}`, { token: admin })).body.release;
    expect(fetched.status).to.equal('expired');
    expect(fetched.closedAt).to.be.a('string');
  });

  it('creating is idempotent per version and environment; bad windows and bodies are refused', async () => {
    const body = releaseBody();
    const first = await createRelease(body);
    const second = await createRelease(body);
    expect(second.release.publicId).to.equal(first.release.publicId);
    expect(second.run.runId).to.equal(first.run.runId);

    const backwards = await call(api.url, 'POST', '/api/v1/releases/runs', {
      token: operator,
      body: { ...releaseBody(), changeWindowEnd: new Date(Date.now() + HOUR_MS).toISOString() },
    });
    expect(backwards.status).to.equal(422);
    expect(backwards.body.code).to.equal('CHANGE_WINDOW_INVALID');
    const started = await call(api.url, 'POST', '/api/v1/releases/runs', { token: operator, body: releaseBody(-HOUR_MS) });
    expect(started.status).to.equal(422);
    expect(started.body.code).to.equal('CHANGE_WINDOW_STARTED');
    const unknown = await call(api.url, 'POST', '/api/v1/releases/runs', { token: operator, body: { ...releaseBody(), team: 'x' } });
    expect(unknown.status).to.equal(400);
    const support = await call(api.url, 'POST', '/api/v1/releases/runs', { token: tokenFor('support'), body: releaseBody() });
    expect(support.status).to.equal(403);
    for (const res of [backwards, started, unknown, support]) {
      expect(res.body).to.have.keys('type', 'code', 'message', 'details', 'requestId');
    }
  });

  it('warns when the change window overlaps a freeze window (fixed cron and time zone)', async () => {
    // Freeze every day 09:30–10:30 in Tokyo, i.e. 00:30–01:30 UTC (Japan has no daylight saving time).
    const { db } = shared();
    const tokyoFreeze = createReleaseActivities({ db, changeFreeze: { cron: '30 9 * * *', timezone: 'Asia/Tokyo', durationMinutes: 60 } });
    const tomorrow = new Date(Date.now() + DAY_MS).toISOString().slice(0, 10);
    const overlapping = releaseBody(DAY_MS, {
      changeWindowStart: `${tomorrow}T00:00:00.000Z`,
      changeWindowEnd: `${tomorrow}T01:00:00.000Z`,
    });
    const clear = releaseBody(DAY_MS, { changeWindowStart: `${tomorrow}T02:00:00.000Z`, changeWindowEnd: `${tomorrow}T03:00:00.000Z` });
    const a = (await createRelease(overlapping)).release;
    const b = (await createRelease(clear)).release;
    const worker = await createWorker(RELEASES_TASK_QUEUE, tokyoFreeze);
    const [warned, quiet] = await worker.runUntil(async () => {
      // An update is answered after the opening write, which records the warnings.
      const views = [];
      for (const r of [a, b]) {
        const res = await call(api.url, 'POST', `/api/v1/releases/runs/${r.publicId}/evaluate`, { token: operator, body: {} });
        expect(res.status, JSON.stringify(res.body)).to.equal(200);
        views.push(res.body.release);
      }
      return views;
    });
    expect(warned.warnings).to.have.length(1);
    expect(warned.warnings[0]).to.include({
      code: 'CHANGE_FREEZE_OVERLAP',
      freezeStart: `${tomorrow}T00:30:00.000Z`,
      freezeEnd: `${tomorrow}T01:30:00.000Z`,
    });
    expect(quiet.warnings).to.deep.equal([]);
  });

  it('lists, filters and summarises runs on the dashboard and in the metrics', async () => {
    const body = releaseBody(2 * HOUR_MS, { metrics: FAILING_METRICS });
    const { release: created } = await createRelease(body);
    const worker = await createWorker(RELEASES_TASK_QUEUE);
    await worker.runUntil(evaluate(created.publicId, 'compliance', { status: 'waived' }));

    const list = await call(api.url, 'GET', `/api/v1/releases/runs?environment=${body.environment}&status=blocked`, { token: operator });
    expect(list.status).to.equal(200);
    expect(list.body.items.map((r: any) => r.publicId)).to.deep.equal([created.publicId]);
    expect(list.body.nextCursor).to.equal(null);

    const dashboard = await call(api.url, 'GET', '/api/v1/releases/dashboard', { token: tokenFor('support') });
    expect(dashboard.status).to.equal(200);
    const upcoming = dashboard.body.upcoming.find((r: any) => r.publicId === created.publicId);
    expect(upcoming).to.deep.include({ status: 'blocked', readinessScore: 40, blockingGates: ['quality', 'security'] });
    const open = await shared().db('release_runs').whereIn('status', ['pending', 'blocked', 'ready']).select('readinessScore');
    const mean = open.reduce((sum: number, r: any) => sum + r.readinessScore, 0) / open.length;
    expect(dashboard.body.meanReadinessScore).to.be.closeTo(mean, 0.05);
    const blocked = await shared().db('release_runs').where('status', 'blocked').count('* as n');
    expect(dashboard.body.countsByStatus.blocked).to.equal(Number(blocked[0].n));

    const metrics = await call(api.url, 'GET', '/metrics');
    expect(metrics.body).to.contain(`release_readiness_score{release="${body.environment}/${body.version}"} 40`);
    expect(metrics.body).to.contain(`release_run_status{status="blocked"} ${dashboard.body.countsByStatus.blocked}`);
    const waived = await shared().db('release_gate_evaluations').where({ gateKey: 'compliance', status: 'waived' }).count('* as n');
    expect(metrics.body).to.contain(`release_gate_evaluations_total{gate="compliance",status="waived"} ${waived[0].n}`);
  });
});
