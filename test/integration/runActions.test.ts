// Cancel, terminate and replay as audited run actions (SPEC §3 audit trail, §3.1 roles, §4 canceling a run).
import { expect } from 'chai';
import { ASSETS_TASK_QUEUE } from '../../workflows/assetConversion.contract';
import { readFixture, uploadAsset } from '../support/assets';
import { call, tokenFor } from '../support/http';
import { createWorker, shared, startApi, temporalClient, type TestApi } from '../support/shared';

describe('run actions: cancel, terminate, replay, and their audit trail', () => {
  let api: TestApi;
  const admin = tokenFor('admin');
  const operator = tokenFor('operator', 'operator-user');
  const support = tokenFor('support', 'support-user');
  const encoded = (assetId: string) => encodeURIComponent(`asset-conversion:${assetId}`);
  const auditRows = (action: string, target: string) => shared().db('audit_events').where({ action, target }).orderBy('id');

  /** An asset whose conversion run has started (no worker polls yet, so it stays running). */
  async function runningConversion(name: string) {
    const { id } = await uploadAsset(api.url, admin, name, await readFixture('lecture.pdf'));
    const ingest = await call(api.url, 'POST', `/api/v1/assets/${id}/ingest`, { token: admin });
    expect(ingest.status, JSON.stringify(ingest.body)).to.equal(202);
    return { id, run: ingest.body.run as { workflowId: string; runId: string } };
  }

  before(async () => {
    api = await startApi({ RATE_LIMIT_BURST: 10000 });
  });

  it('a cancel ends the run Canceled, the asset failed (canceled), audited; its replay is refused with RUN_CANCELED', async () => {
    const { id, run } = await runningConversion('cancel-audited.pdf');
    const cancel = await call(api.url, 'POST', `/api/v1/runs/${encoded(id)}/cancel`, { token: operator, body: { reason: 'uploaded by mistake' } });
    expect(cancel.status, JSON.stringify(cancel.body)).to.equal(202);
    const worker = await createWorker(ASSETS_TASK_QUEUE);
    await worker.runUntil((await temporalClient()).workflow.getHandle(run.workflowId, run.runId).result().catch(() => undefined));

    expect((await call(api.url, 'GET', `/api/v1/runs/${encoded(id)}`, { token: operator })).body.run.status).to.equal('Canceled');
    const asset = await shared().db('assets').where({ id }).first();
    expect(asset).to.include({ status: 'failed', failureReason: 'canceled' });
    const [row] = await auditRows('run.cancel', `run:asset-conversion:${id}`);
    expect(row).to.include({ actorSub: 'operator-user', reason: 'uploaded by mistake', outcome: 'succeeded' });
    expect(row.actorRoles).to.deep.equal(['operator']);
    expect(row.requestId).to.be.a('string');

    const replay = await call(api.url, 'POST', `/api/v1/runs/${encoded(id)}/replay`, { token: operator, body: { mode: 'restart', reason: 'try again' } });
    expect(replay.status, JSON.stringify(replay.body)).to.equal(409);
    expect(replay.body.code).to.equal('RUN_CANCELED');
    expect(await auditRows('run.replay', `run:asset-conversion:${id}`)).to.have.length(0);
  });

  it('terminate is admin only: an operator is refused, an admin ends the run Terminated, audited', async () => {
    const { id, run } = await runningConversion('terminate-me.pdf');
    const refused = await call(api.url, 'POST', `/api/v1/runs/${encoded(id)}/terminate`, { token: operator, body: { reason: 'stuck' } });
    expect(refused.status).to.equal(403);
    const terminate = await call(api.url, 'POST', `/api/v1/runs/${encoded(id)}/terminate`, { token: admin, body: { reason: 'stuck for good' } });
    expect(terminate.status, JSON.stringify(terminate.body)).to.equal(202);
    expect(terminate.body.run).to.include({ workflowId: run.workflowId, runId: run.runId });
    const described = await (await temporalClient()).workflow.getHandle(run.workflowId, run.runId).describe();
    expect(described.status.name).to.equal('TERMINATED');
    const rows = await auditRows('run.terminate', `run:asset-conversion:${id}`);
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ reason: 'stuck for good', outcome: 'succeeded' });
  });

  it('the audit list: support reads it newest first and filtered, a learner is refused, each read is recorded', async () => {
    const learner = await call(api.url, 'GET', '/api/v1/audit-events', { token: tokenFor('learner') });
    expect(learner.status).to.equal(403);
    const first = await call(api.url, 'GET', '/api/v1/audit-events?action=run.cancel&limit=1', { token: support });
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    expect(first.body.items).to.have.length(1);
    expect(first.body.items[0]).to.include({ action: 'run.cancel', outcome: 'succeeded' });
    expect(first.body.items[0].actor).to.deep.equal({ sub: 'operator-user', roles: ['operator'] });
    const reads = await call(api.url, 'GET', '/api/v1/audit-events?action=audit.read', { token: support });
    expect(reads.body.items[0]).to.include({ action: 'audit.read', target: 'audit:events' });
    expect(reads.body.items[0].actor.sub).to.equal('support-user');
    const ids = reads.body.items.map((i: { id: string }) => Number(i.id));
    expect(ids).to.deep.equal([...ids].sort((a, b) => b - a));
  });

  it('audit rows are insert-only: a settled row is neither changed nor deleted', async () => {
    const [row] = await shared().db('audit_events').where({ action: 'run.terminate' }).limit(1);
    expect(row, 'the terminate test wrote one').to.exist;
    const changed = await shared().db('audit_events').where({ id: row.id }).update({ outcome: 'failed' }).catch((err: Error) => err);
    expect(changed).to.be.instanceOf(Error);
    const deleted = await shared().db('audit_events').where({ id: row.id }).delete().catch((err: Error) => err);
    expect(deleted).to.be.instanceOf(Error);
    expect((await shared().db('audit_events').where({ id: row.id }).first()).outcome).to.equal('succeeded');
  });
});
