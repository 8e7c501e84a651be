// Canceling retention, release and telemetry export runs (SPEC §4 "Canceling a run", §3.1 run roles):
// the record is closed as the SPEC says (an export leaves no half-claimed range), the run ends
// Canceled, and the cancel is audited.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { createRetentionActivities, retentionActivityDeps } from '../../activities/retention';
import { createTelemetryActivities } from '../../activities/telemetry';
import { TelemetryExport } from '../../db/models/Telemetry';
import { TELEMETRY_TASK_QUEUE } from '../../workflows/telemetryExport.contract';
import { RELEASES_TASK_QUEUE } from '../../workflows/releaseEvaluation.contract';
import { RETENTION_TASK_QUEUE } from '../../workflows/retentionRun.contract';
import { call, tokenFor } from '../support/http';
import { DAY_MS, PASSING_METRICS, releaseBody } from '../support/releases';
import { expectExactlyOnce, exportedObjectsSince, ingest, makeEvents } from '../support/telemetry';
import { waitFor } from '../support/wait';
import { createWorker, shared, startApi, temporalClient, type TestApi } from '../support/shared';

describe('canceling retention, release and telemetry export runs (SPEC §4)', () => {
  let api: TestApi;
  const admin = tokenFor('admin', 'cancel-admin');
  const operator = tokenFor('operator', 'cancel-operator');

  before(async () => {
    api = await startApi({ RATE_LIMIT_BURST: 10000 });
  });

  const cancelRun = (workflowId: string, token: string) =>
    call(api.url, 'POST', `/api/v1/runs/${encodeURIComponent(workflowId)}/cancel`, { token, body: { reason: 'planned maintenance' } });
  const canceledEnd = async (workflowId: string) => {
    const err = await (await temporalClient()).workflow.getHandle(workflowId).result().then(
      () => expect.fail('the run completed'),
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).to.be.instanceOf(CancelledFailure);
  };
  async function expectAuditedCancel(workflowId: string, sub: string) {
    const rows = await shared().db('audit_events').where({ action: 'run.cancel', target: `run:${workflowId}` });
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ actorSub: sub, reason: 'planned maintenance', outcome: 'succeeded' });
  }

  it('a retention run canceled mid-policy: an operator is refused, an admin cancels; closed canceled, run Canceled', async () => {
    const policy = await call(api.url, 'POST', '/api/v1/retention/policies', {
      token: admin,
      body: { entity: 'asset_ingestion_events', action: 'hard-delete', retentionDays: 365, criteria: { step: `cancel-${randomUUID()}` } },
    });
    expect(policy.status, JSON.stringify(policy.body)).to.equal(201);
    const started = await call(api.url, 'POST', '/api/v1/retention/runs', { token: admin, body: { dryRun: true, policyIds: [policy.body.retentionPolicy.id] } });
    expect(started.status, JSON.stringify(started.body)).to.equal(202);
    const { retentionRun, run } = started.body;

    const { db, config, providers } = shared();
    const real = createRetentionActivities(retentionActivityDeps(config, db, providers.storage));
    let batchStarted = false;
    let finishBatch = () => {};
    const batchHeld = new Promise<void>((resolve) => (finishBatch = resolve));
    // The batch is held so the cancel lands while the policy is being applied.
    const worker = await createWorker(RETENTION_TASK_QUEUE, {
      applyRetentionPolicy: async (ref: Parameters<typeof real.applyRetentionPolicy>[0]) => {
        batchStarted = true;
        await batchHeld;
        return real.applyRetentionPolicy(ref);
      },
    });
    await worker.runUntil(async () => {
      try {
        await waitFor('a batch in progress', async () => (batchStarted ? true : undefined));
        const refused = await cancelRun(run.workflowId, operator);
        expect([refused.status, refused.body.code]).to.deep.equal([403, 'DOMAIN_ROLE_REQUIRED']);
        expect((await cancelRun(run.workflowId, admin)).status).to.equal(202);
        await canceledEnd(run.workflowId);
      } finally {
        finishBatch();
      }
    });
    const view = await call(api.url, 'GET', `/api/v1/retention/runs/${retentionRun.id}`, { token: operator });
    expect(view.body.retentionRun.status).to.equal('canceled');
    await expectAuditedCancel(run.workflowId, 'cancel-admin');
  });

  it('a release run canceled while it waits for its window: closed expired, run Canceled', async () => {
    const created = await call(api.url, 'POST', '/api/v1/releases/runs', { token: operator, body: releaseBody(DAY_MS, { metrics: PASSING_METRICS }) });
    expect(created.status, JSON.stringify(created.body)).to.equal(202);
    const { release, run } = created.body;
    const row = async () => (await shared().db('release_runs').where({ publicId: release.publicId }).first()) as { status: string; revision: number };
    const worker = await createWorker(RELEASES_TASK_QUEUE);
    await worker.runUntil(async () => {
      await waitFor('the release opened', async () => (Number((await row()).revision) > 0 ? true : undefined));
      expect((await cancelRun(run.workflowId, operator)).status).to.equal(202);
      await canceledEnd(run.workflowId);
    });
    expect((await row()).status).to.equal('expired');
    await expectAuditedCancel(run.workflowId, 'cancel-operator');
  });

  it('a telemetry export canceled mid-call leaves no half-claimed range: the next export takes up every event once', async () => {
    const since = new Date();
    const exportsApi = await startApi({ RATE_LIMIT_BURST: 10000, TELEMETRY_EXPORT_BATCH_SIZE: 5 });
    const events = makeEvents(23);
    expect((await ingest(exportsApi.url, tokenFor('service'), events)).status).to.equal(202);
    const startExport = async () => {
      const res = await call(exportsApi.url, 'POST', '/api/v1/telemetry/exports', { token: operator });
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      return res.body.run.workflowId as string;
    };

    const { db, config, providers } = shared();
    const exportsDeps = { db, storage: providers.storage, exports: { bucket: config.TELEMETRY_EXPORT_BUCKET, prefix: config.TELEMETRY_EXPORT_PREFIX, compress: true, lineageTool: 'cancel-test' } };
    const real = createTelemetryActivities(exportsDeps);
    let callStarted = false;
    let letItRun = () => {};
    const held = new Promise<void>((resolve) => (letItRun = resolve));
    // The call is held, then goes on after the cancel: it claims and commits with nobody waiting for it.
    const worker = await createWorker(TELEMETRY_TASK_QUEUE, {
      exportBatches: async (input: Parameters<typeof real.exportBatches>[0]) => {
        callStarted = true;
        await held;
        return real.exportBatches(input);
      },
    });
    const canceled = await startExport();
    await worker.runUntil(async () => {
      try {
        await waitFor('the export call running', async () => (callStarted ? true : undefined));
        expect((await cancelRun(canceled, operator)).status).to.equal(202);
        await canceledEnd(canceled);
      } finally {
        letItRun();
      }
    });

    const next = await startExport();
    await (await createWorker(TELEMETRY_TASK_QUEUE)).runUntil((await temporalClient()).workflow.getHandle(next).result());
    const open = await TelemetryExport.query(db).where('createdAt', '>=', since).whereNull('committedAt').resultSize();
    expect(open, 'no claimed range left open').to.equal(0);
    expectExactlyOnce(await exportedObjectsSince(since), events.map((e) => e.eventId));
    await expectAuditedCancel(canceled, 'cancel-operator');
  });
});
