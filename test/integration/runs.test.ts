import { expect } from 'chai';
import { createAssetActivities } from '../../activities/assets';
import { RunReplay } from '../../db/models/RunReplay';
import { scheduleDefinitions, syncSchedules } from '../../lib/schedules';
import { createConverter } from '../../providers/converter';
import { ASSETS_TASK_QUEUE, ASSET_CONVERSION_WORKFLOW } from '../../workflows/assetConversion.contract';
import { BILLING_RECONCILIATION_SCHEDULE } from '../../workflows/billingReconciliation.contract';
import { PAYMENTS_TASK_QUEUE } from '../../workflows/paymentCapture.contract';
import { readFixture, uploadAsset } from '../support/assets';
import { call, tokenFor } from '../support/http';
import { waitFor } from '../support/wait';
import { createWorker, shared, startApi, temporalClient, type TestApi } from '../support/shared';

describe('runs, replays and schedules for operators (SPEC §4.6)', () => {
  let api: TestApi;
  const operator = tokenFor('operator');
  const support = tokenFor('support');
  const since = new Date(Date.now() - 1000).toISOString();
  const failedAssets: string[] = [];
  const workflowIdOf = (assetId: string) => `asset-conversion:${assetId}`;
  const encoded = (assetId: string) => encodeURIComponent(workflowIdOf(assetId));

  /** A worker whose converter cannot find pdfinfo: an infrastructure failure every attempt. */
  async function brokenConverterWorker() {
    const { config, db, providers } = shared();
    const converter = createConverter({
      libreofficeBin: config.LIBREOFFICE_BIN,
      pdftoppmBin: config.PDFTOPPM_BIN,
      pdfinfoBin: '/nonexistent/pdfinfo',
      pdftotextBin: config.PDFTOTEXT_BIN,
      timeoutMs: 10000,
    });
    const buckets = { uploads: config.S3_BUCKET_UPLOADS, private: config.S3_BUCKET_PRIVATE, quarantine: config.S3_BUCKET_QUARANTINE };
    return createWorker(ASSETS_TASK_QUEUE, createAssetActivities({ db, ...providers, converter, buckets, converterMaxAttempts: config.CONVERTER_MAX_ATTEMPTS }));
  }

  const assetStatus = async (id: string) => (await shared().db('assets').where({ id }).first()).status as string;
  const untilClosed = async (workflowId: string, runId: string) =>
    (await temporalClient()).workflow.getHandle(workflowId, runId).result();

  before(async function () {
    this.timeout(180000);
    api = await startApi({ RATE_LIMIT_BURST: 10000 });
    const instructor = tokenFor('instructor');
    const pdf = await readFixture('lecture.pdf');
    const runs: Array<{ workflowId: string; runId: string }> = [];
    for (let i = 0; i < 4; i += 1) {
      const { id } = await uploadAsset(api.url, instructor, `broken-${i}.pdf`, pdf);
      const ingest = await call(api.url, 'POST', `/api/v1/assets/${id}/ingest`, { token: instructor });
      runs.push(ingest.body.run);
      failedAssets.push(id);
    }
    const worker = await brokenConverterWorker();
    await worker.runUntil(Promise.all(runs.map((r) => untilClosed(r.workflowId, r.runId).catch(() => undefined))));
  });

  it('finds the failed runs by type, status, start time and business key', async () => {
    const byType = await call(api.url, 'GET', `/api/v1/runs?type=${ASSET_CONVERSION_WORKFLOW}&status=Failed&since=${since}&limit=200`, { token: support });
    expect(byType.status, JSON.stringify(byType.body)).to.equal(200);
    const ids = byType.body.items.map((r: { workflowId: string }) => r.workflowId);
    expect(ids).to.include.members(failedAssets.map(workflowIdOf));
    const byKey = await call(api.url, 'GET', `/api/v1/runs?businessKey=${failedAssets[0]}`, { token: support });
    expect(byKey.body.items).to.have.length(1);
    expect(byKey.body.items[0]).to.include({ workflowId: workflowIdOf(failedAssets[0]), type: ASSET_CONVERSION_WORKFLOW, status: 'Failed', businessKey: failedAssets[0] });
    expect(byKey.body.items[0].uiUrl).to.contain(encoded(failedAssets[0]));
    const paged = await call(api.url, 'GET', `/api/v1/runs?type=${ASSET_CONVERSION_WORKFLOW}&status=Failed&since=${since}&limit=2`, { token: support });
    expect(paged.body.items).to.have.length(2);
    expect(paged.body.nextCursor).to.be.a('string');
    const next = await call(api.url, 'GET', `/api/v1/runs?type=${ASSET_CONVERSION_WORKFLOW}&status=Failed&since=${since}&limit=2&cursor=${paged.body.nextCursor}`, { token: support });
    const forged = await call(api.url, 'GET', '/api/v1/runs?cursor=bm90LWEtdG9rZW4', { token: support });
    expect([forged.status, forged.body.type], 'a forged page token is bad input').to.deep.equal([400, 'validation_error']);
    expect((await call(api.url, 'GET', '/api/v1/runs?status=Unknown', { token: support })).status).to.equal(400);
    expect(next.body.items.map((r: { runId: string }) => r.runId)).not.to.include.members(paged.body.items.map((r: { runId: string }) => r.runId));
  });

  it('describes a failed run with its failure and history length, and the asset shows failed', async () => {
    const res = await call(api.url, 'GET', `/api/v1/runs/${encoded(failedAssets[0])}`, { token: support });
    expect(res.status).to.equal(200);
    expect(res.body.run.status).to.equal('Failed');
    expect(res.body.run.failure).to.match(/pdfinfo/);
    expect(res.body.run.historyLength).to.be.greaterThan(5);
    expect(res.body.run.pendingActivities).to.deep.equal([]);
    expect(await assetStatus(failedAssets[0])).to.equal('failed');
  });

  it('reset re-runs a failed run from its first workflow task; once fixed it completes, and the replay is recorded', async () => {
    const before = (await call(api.url, 'GET', `/api/v1/runs/${encoded(failedAssets[0])}`, { token: support })).body.run;
    const res = await call(api.url, 'POST', `/api/v1/runs/${encoded(failedAssets[0])}/replay`, { token: support, body: { mode: 'reset', reason: 'pdfinfo reinstalled' } });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    expect(res.body.run.runId).not.to.equal(before.runId);
    const worker = await createWorker(ASSETS_TASK_QUEUE);
    await worker.runUntil(untilClosed(res.body.run.workflowId, res.body.run.runId));
    expect(await assetStatus(failedAssets[0])).to.equal('ready');
    const recorded = await RunReplay.query(shared().db).where({ workflowId: workflowIdOf(failedAssets[0]) });
    expect(recorded).to.have.length(1);
    expect(recorded[0]).to.include({ mode: 'reset', oldRunId: before.runId, newRunId: res.body.run.runId, reason: 'pdfinfo reinstalled' });
    expect(recorded[0].requestedBy).to.match(/^support-/);
    const [audit] = await shared().db('audit_events').where({ action: 'run.replay', target: `run:${workflowIdOf(failedAssets[0])}` });
    expect(audit).to.include({ actorSub: recorded[0].requestedBy, reason: 'pdfinfo reinstalled', outcome: 'succeeded' });

    const again = await call(api.url, 'POST', `/api/v1/runs/${encoded(failedAssets[0])}/replay`, { token: support, body: { mode: 'reset', reason: 'again' } });
    expect([again.status, again.body.code]).to.deep.equal([409, 'RUN_COMPLETED']);
  });

  it('restart starts a fresh run with the original input', async () => {
    const res = await call(api.url, 'POST', `/api/v1/runs/${encoded(failedAssets[1])}/replay`, { token: operator, body: { mode: 'restart', reason: 'converter fixed' } });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    const worker = await createWorker(ASSETS_TASK_QUEUE);
    const result = await worker.runUntil(untilClosed(res.body.run.workflowId, res.body.run.runId));
    expect(result).to.deep.include({ assetId: failedAssets[1], status: 'ready' });
    const view = await call(api.url, 'GET', `/api/v1/runs?businessKey=${failedAssets[1]}`, { token: support });
    expect(view.body.items.map((r: { status: string }) => r.status).sort(), 'the new run carries the business key too').to.deep.equal(['Completed', 'Failed']);
    expect(await RunReplay.query(shared().db).where({ workflowId: workflowIdOf(failedAssets[1]), mode: 'restart' })).to.have.length(1);
  });

  it('bulk replay: a dry run counts the failed runs and changes nothing; the real one replays exactly those', async () => {
    const body = { type: ASSET_CONVERSION_WORKFLOW, status: 'Failed', since, mode: 'reset', reason: 'bulk after the converter outage' };
    const recordedBefore = await RunReplay.query(shared().db).resultSize();
    const dry = await call(api.url, 'POST', '/api/v1/runs/replay', { token: operator, body: { ...body, dryRun: true } });
    expect(dry.status, JSON.stringify(dry.body)).to.equal(202);
    expect(dry.body).to.deep.include({ matched: 2, replayed: [] });
    expect(await RunReplay.query(shared().db).resultSize()).to.equal(recordedBefore);

    const real = await call(api.url, 'POST', '/api/v1/runs/replay', { token: operator, body: { ...body, dryRun: false } });
    expect(real.body.matched).to.equal(2);
    expect(real.body.failed).to.deep.equal([]);
    expect(real.body.replayed.map((r: { workflowId: string }) => r.workflowId).sort()).to.deep.equal(failedAssets.slice(2).map(workflowIdOf).sort());
    const worker = await createWorker(ASSETS_TASK_QUEUE);
    await worker.runUntil(Promise.all(real.body.replayed.map((r: { workflowId: string; runId: string }) => untilClosed(r.workflowId, r.runId))));
    for (const id of failedAssets.slice(2)) expect(await assetStatus(id)).to.equal('ready');
    const bulk = await RunReplay.query(shared().db).whereIn('workflowId', failedAssets.slice(2).map(workflowIdOf));
    expect(bulk).to.have.length(2);
    expect(new Set(bulk.map((r) => r.bulkId)).size).to.equal(1);
    const audited = await shared().db('audit_events').where({ action: 'run.replay' }).whereIn('target', failedAssets.slice(2).map((id) => `run:${workflowIdOf(id)}`));
    expect(audited.map((a: { outcome: string; after: { bulkId: string } }) => [a.outcome, a.after.bulkId])).to.deep.equal([
      ['succeeded', bulk[0].bulkId],
      ['succeeded', bulk[0].bulkId],
    ]);
  });

  it('enforces the role matrix: learners and instructors are refused, operators, support and admins allowed', async () => {
    for (const role of ['learner', 'instructor', 'finance', 'service'] as const) {
      expect((await call(api.url, 'GET', '/api/v1/runs', { token: tokenFor(role) })).status, role).to.equal(403);
      const replay = await call(api.url, 'POST', `/api/v1/runs/${encoded(failedAssets[0])}/replay`, { token: tokenFor(role), body: { mode: 'reset', reason: 'nope' } });
      expect(replay.status, role).to.equal(403);
    }
    for (const role of ['operator', 'support', 'admin'] as const) {
      expect((await call(api.url, 'GET', '/api/v1/runs?limit=1', { token: tokenFor(role) })).status, role).to.equal(200);
      expect((await call(api.url, 'GET', '/api/v1/schedules', { token: tokenFor(role) })).status, role).to.equal(200);
    }
    expect((await call(api.url, 'POST', `/api/v1/schedules/${BILLING_RECONCILIATION_SCHEDULE}/pause`, { token: support })).status).to.equal(403);
  });

  it('cancels a running workflow on request and refuses to cancel a closed one', async () => {
    const { id } = await uploadAsset(api.url, tokenFor('admin'), 'cancel-me.pdf', await readFixture('lecture.pdf'));
    const ingest = await call(api.url, 'POST', `/api/v1/assets/${id}/ingest`, { token: tokenFor('admin') });
    const cancel = await call(api.url, 'POST', `/api/v1/runs/${encoded(id)}/cancel`, { token: operator, body: { reason: 'uploaded by mistake' } });
    expect(cancel.status, JSON.stringify(cancel.body)).to.equal(202);
    const worker = await createWorker(ASSETS_TASK_QUEUE);
    await worker.runUntil(untilClosed(ingest.body.run.workflowId, ingest.body.run.runId).catch(() => undefined));
    const closed = await call(api.url, 'GET', `/api/v1/runs/${encoded(id)}`, { token: operator });
    expect(closed.body.run.status).to.equal('Canceled');
    expect(await assetStatus(id), 'the record is settled, not left processing').to.equal('failed');
    const again = await call(api.url, 'POST', `/api/v1/runs/${encoded(id)}/cancel`, { token: operator, body: { reason: 'twice' } });
    expect(again.status).to.equal(409);
    expect((await call(api.url, 'GET', `/api/v1/runs/${encodeURIComponent('asset-conversion:no-such-asset')}`, { token: operator })).status).to.equal(404);
  });

  describe('schedules', () => {
    before(async () => {
      // Registered paused, as the test environment's configuration asks: the suite triggers them itself.
      const definitions = scheduleDefinitions(shared().config).map((d) => ({ ...d, paused: true }));
      await syncSchedules(await temporalClient(), definitions);
    });

    it('lists every schedule from the one module, with spec, next runs and state', async () => {
      const res = await call(api.url, 'GET', '/api/v1/schedules', { token: support });
      expect(res.status).to.equal(200);
      const ids = res.body.items.map((s: { id: string }) => s.id);
      expect(ids).to.include.members(scheduleDefinitions(shared().config).map((d) => d.id));
      const billing = res.body.items.find((s: { id: string }) => s.id === BILLING_RECONCILIATION_SCHEDULE);
      expect(billing).to.deep.include({ workflowType: 'billingReconciliation', spec: { cron: shared().config.BILLING_RECONCILIATION_CRON }, paused: true });
      expect(billing.nextRunAt.length).to.be.greaterThan(0);
    });

    it('pauses and unpauses, and trigger starts a run now', async () => {
      const unpause = await call(api.url, 'POST', `/api/v1/schedules/${BILLING_RECONCILIATION_SCHEDULE}/unpause`, { token: operator });
      expect(unpause.status).to.equal(200);
      expect(unpause.body.schedule.paused).to.equal(false);
      const pause = await call(api.url, 'POST', `/api/v1/schedules/${BILLING_RECONCILIATION_SCHEDULE}/pause`, { token: operator });
      expect(pause.body.schedule.paused).to.equal(true);

      const trigger = await call(api.url, 'POST', `/api/v1/schedules/${BILLING_RECONCILIATION_SCHEDULE}/trigger`, { token: operator });
      expect(trigger.status).to.equal(202);
      expect(trigger.body.scheduleId).to.equal(BILLING_RECONCILIATION_SCHEDULE);
      const lastRun = await waitFor('the triggered run to be listed', async () => {
        const list = await call(api.url, 'GET', '/api/v1/schedules', { token: operator });
        return (list.body.items.find((s: { id: string }) => s.id === BILLING_RECONCILIATION_SCHEDULE).lastRun ?? undefined) as
          | { workflowId: string; runId: string }
          | undefined;
      });
      expect(lastRun.workflowId).to.match(new RegExp(`^${BILLING_RECONCILIATION_SCHEDULE}-`));
      const worker = await createWorker(PAYMENTS_TASK_QUEUE);
      await worker.runUntil(untilClosed(lastRun.workflowId, lastRun.runId));
      expect((await call(api.url, 'POST', '/api/v1/schedules/no-such-schedule/trigger', { token: operator })).status).to.equal(404);
    });
  });
});
