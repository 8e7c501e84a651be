// The audit trail of privileged actions beyond run actions (SPEC §3): schedules, retention policies
// and runs, coupons; each row carries actor, target, reason and outcome. Payments, refunds, quarantine
// reviews and gate waivers are checked in their own domains' tests.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { scheduleDefinitions, syncSchedules } from '../../lib/schedules';
import { DATA_RETENTION_SCHEDULE_ID, RETENTION_TASK_QUEUE } from '../../workflows/retentionRun.contract';
import { call, tokenFor } from '../support/http';
import { createWorker, shared, startApi, temporalClient, type TestApi } from '../support/shared';
import { waitFor } from '../support/wait';

describe('the audit trail of privileged actions (SPEC §3)', () => {
  let api: TestApi;
  const admin = tokenFor('admin', 'audit-admin');
  const operator = tokenFor('operator', 'audit-operator');
  const finance = tokenFor('finance', 'audit-finance');
  const rowsOf = (action: string, target: string) => shared().db('audit_events').where({ action, target }).orderBy('id');

  before(async () => {
    api = await startApi({ RATE_LIMIT_BURST: 10000 });
  });

  /** A schedule of its own whose runs go to a task queue nobody polls: triggering it changes nothing else. */
  async function scratchSchedule(): Promise<string> {
    const retention = scheduleDefinitions(shared().config).find((d) => d.id === DATA_RETENTION_SCHEDULE_ID)!;
    const id = `audit-trail-${randomUUID()}`;
    await syncSchedules(await temporalClient(), [{ ...retention, id, taskQueue: `audit-trail-nowhere-${randomUUID()}`, paused: true }]);
    return id;
  }

  /** Deletes the schedule and terminates whatever its trigger started. */
  async function dropSchedule(id: string): Promise<void> {
    const client = await temporalClient();
    const handle = client.schedule.getHandle(id);
    const started = (await handle.describe()).info.recentActions.map((a) => a.action.workflow.workflowId);
    await handle.delete();
    for (const workflowId of started) await client.workflow.getHandle(workflowId).terminate('audit trail test clean-up').catch(() => undefined);
  }

  it('schedule trigger, pause and unpause: each a settled row with actor, target, reason; an unknown schedule leaves a failed row', async () => {
    const id = await scratchSchedule();
    try {
      const path = (change: string) => `/api/v1/schedules/${id}/${change}`;
      const unpause = await call(api.url, 'POST', path('unpause'), { token: operator, body: { reason: 'backfill after the incident' } });
      expect(unpause.status, JSON.stringify(unpause.body)).to.equal(200);
      expect(unpause.body.schedule).to.include({ paused: false, note: 'unpaused by audit-operator: backfill after the incident' });
      const pause = await call(api.url, 'POST', path('pause'), { token: operator, body: { reason: 'storage migration' } });
      expect(pause.status, JSON.stringify(pause.body)).to.equal(200);
      expect(pause.body.schedule.paused).to.equal(true);
      const trigger = await call(api.url, 'POST', path('trigger'), { token: admin });
      expect(trigger.status, JSON.stringify(trigger.body)).to.equal(202);
      await waitFor('the triggered run', async () => ((await (await temporalClient()).schedule.getHandle(id).describe()).info.recentActions.length ? true : undefined));

      const target = `schedule:${id}`;
      const [unpaused] = await rowsOf('schedule.unpause', target);
      expect(unpaused).to.include({ actorSub: 'audit-operator', reason: 'backfill after the incident', outcome: 'succeeded' });
      expect(unpaused.actorRoles).to.deep.equal(['operator']);
      expect(unpaused.after).to.deep.equal({ paused: false });
      expect(unpaused.requestId).to.equal(unpause.headers.get('x-request-id'));
      expect(await rowsOf('schedule.pause', target)).to.have.length(1);
      const [triggered] = await rowsOf('schedule.trigger', target);
      expect(triggered).to.include({ actorSub: 'audit-admin', reason: null, outcome: 'succeeded' });

      const refused = await call(api.url, 'POST', path('pause'), { token: tokenFor('support'), body: { reason: 'not mine to pause' } });
      expect(refused.status).to.equal(403);
      expect(await rowsOf('schedule.pause', target), 'a refused caller leaves no row').to.have.length(1);
    } finally {
      await dropSchedule(id);
    }

    const missing = `audit-trail-missing-${randomUUID()}`;
    const unknown = await call(api.url, 'POST', `/api/v1/schedules/${missing}/trigger`, { token: operator, body: { reason: 'typo in the id' } });
    expect(unknown.status).to.equal(404);
    const [failed] = await rowsOf('schedule.trigger', `schedule:${missing}`);
    expect(failed).to.include({ actorSub: 'audit-operator', reason: 'typo in the id', outcome: 'failed' });
  });

  it('retention policy create and update record before and after in the same transaction; a run start is settled around its workflow start', async () => {
    const criteria = { step: `audit-${randomUUID()}` };
    const created = await call(api.url, 'POST', '/api/v1/retention/policies', {
      token: admin,
      body: { entity: 'asset_ingestion_events', action: 'hard-delete', retentionDays: 365, criteria, reason: 'ticket DPO-7' },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const policy = created.body.retentionPolicy;
    const target = `retention_policy:${policy.id}`;
    const [create] = await rowsOf('retention_policy.create', target);
    expect(create).to.include({ actorSub: 'audit-admin', reason: 'ticket DPO-7', outcome: 'succeeded', before: null });
    expect(create.after).to.deep.equal(policy);

    const updated = await call(api.url, 'PATCH', `/api/v1/retention/policies/${policy.id}`, { token: admin, body: { retentionDays: 400, reason: 'legal hold lifted' } });
    expect(updated.status, JSON.stringify(updated.body)).to.equal(200);
    const [update] = await rowsOf('retention_policy.update', target);
    expect(update).to.include({ reason: 'legal hold lifted', outcome: 'succeeded' });
    expect([update.before.retentionDays, update.after.retentionDays]).to.deep.equal([365, 400]);

    const refused = await call(api.url, 'PATCH', `/api/v1/retention/policies/${policy.id}`, { token: admin, body: { criteria: { payload: 'x' }, reason: 'a wrong column' } });
    expect(refused.status).to.equal(422);
    expect(await rowsOf('retention_policy.update', target), 'a refused change leaves no row').to.have.length(1);

    const started = await call(api.url, 'POST', '/api/v1/retention/runs', { token: admin, body: { dryRun: true, policyIds: [policy.id], reason: 'check before the live run' } });
    expect(started.status, JSON.stringify(started.body)).to.equal(202);
    const { retentionRun, run } = started.body;
    const [start] = await rowsOf('retention_run.start', `retention_run:${retentionRun.id}`);
    expect(start).to.include({ actorSub: 'audit-admin', reason: 'check before the live run', outcome: 'succeeded' });
    expect(start.after).to.deep.equal({ dryRun: true, policyIds: [policy.id] });
    const worker = await createWorker(RETENTION_TASK_QUEUE);
    await worker.runUntil((await temporalClient()).workflow.getHandle(run.workflowId, run.runId).result());
  });

  it('coupon creation is recorded with the coupon it made; a refused one leaves no row', async () => {
    const code = `AUDIT-${randomUUID().slice(0, 8).toUpperCase()}`;
    const made = await call(api.url, 'POST', '/api/v1/payments/coupons', { token: finance, body: { code, percentOff: 10, reason: 'spring campaign' } });
    expect(made.status, JSON.stringify(made.body)).to.equal(201);
    const again = await call(api.url, 'POST', '/api/v1/payments/coupons', { token: finance, body: { code, percentOff: 20, reason: 'spring campaign' } });
    expect(again.status).to.equal(409);
    const rows = await rowsOf('coupon.create', `coupon:${code}`);
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ actorSub: 'audit-finance', reason: 'spring campaign', outcome: 'succeeded' });
    expect(rows[0].after).to.deep.equal(made.body.coupon);
  });

  it('audit rows are a retention entity: a live run deletes only rows past the policy age, never younger than 90 days', async () => {
    const { db } = shared();
    const action = `retention_test.row_${randomUUID().slice(0, 8)}`;
    const row = (daysAgo: number) => ({ at: new Date(Date.now() - daysAgo * 86_400_000), actorSub: 'audit-test', actorRoles: ['admin'], action, target: 'test:row', outcome: 'succeeded' });
    await db('audit_events').insert([row(800), row(400), row(100), row(1)]);
    const tooYoung = await call(api.url, 'POST', '/api/v1/retention/policies', { token: admin, body: { entity: 'audit_events', action: 'hard-delete', retentionDays: 30 } });
    expect([tooYoung.status, tooYoung.body.details[0].path]).to.deep.equal([422, 'body/retentionDays']);
    const created = await call(api.url, 'POST', '/api/v1/retention/policies', {
      token: admin,
      body: { entity: 'audit_events', action: 'hard-delete', retentionDays: 365, criteria: { action } },
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    const started = await call(api.url, 'POST', '/api/v1/retention/runs', { token: admin, body: { dryRun: false, policyIds: [created.body.retentionPolicy.id] } });
    expect(started.status, JSON.stringify(started.body)).to.equal(202);
    const { run } = started.body;
    const worker = await createWorker(RETENTION_TASK_QUEUE);
    await worker.runUntil((await temporalClient()).workflow.getHandle(run.workflowId, run.runId).result());
    const left = await db('audit_events').where({ action }).orderBy('at');
    expect(left.map((r) => Math.round((Date.now() - r.at.getTime()) / 86_400_000))).to.deep.equal([100, 1]);
    const [young] = left.filter((r) => Math.round((Date.now() - r.at.getTime()) / 86_400_000) === 1);
    let refused: unknown;
    await db('audit_events').where({ id: young.id }).delete().catch((err: unknown) => (refused = err));
    expect(String(refused)).to.contain('insert-only');
  });

  it('a reason is optional but bounded, and a learner can neither write nor read the trail', async () => {
    const tooShort = await call(api.url, 'POST', '/api/v1/payments/coupons', { token: finance, body: { code: 'AUDIT-SHORT', percentOff: 5, reason: 'x' } });
    expect([tooShort.status, tooShort.body.type]).to.deep.equal([400, 'validation_error']);
    const learner = tokenFor('learner');
    expect((await call(api.url, 'GET', '/api/v1/audit-events', { token: learner })).status).to.equal(403);
    expect((await call(api.url, 'GET', '/api/v1/audit-events?action=coupon.create', { token: operator })).status, 'operators do not read it either').to.equal(403);
    const read = await call(api.url, 'GET', '/api/v1/audit-events?action=coupon.create&actor=audit-finance', { token: admin });
    expect(read.status).to.equal(200);
    expect(read.body.items[0]).to.include({ action: 'coupon.create', reason: 'spring campaign', outcome: 'succeeded' });
  });
});
