import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { createRetentionActivities, retentionActivityDeps, type RetentionActivityDeps } from '../../activities/retention';
import { DEFAULT_POLICIES } from '../../db/retentionEntities';
import { seed as seedRetentionPolicies } from '../../db/seeds/02_retention_policies';
import { scheduleDefinitions } from '../../lib/schedules';
import { progressQuery, RETENTION_POLICY_FAILED, RETENTION_TASK_QUEUE } from '../../workflows/retentionRun.contract';
import { call, tokenFor } from '../support/http';
import { aroundCutoff, insertAsset, insertIngestionEvents, startRetentionRun, tableExists } from '../support/retention';
import { createWorker, shared, startApi, temporalClient, type TestApi } from '../support/shared';

describe('retention runs (SPEC §4.5)', () => {
  let api: TestApi;
  const admin = tokenFor('admin');
  const operator = tokenFor('operator');

  before(async () => {
    api = await startApi({ RATE_LIMIT_BURST: 10000 });
  });

  async function createPolicy(body: Record<string, unknown>): Promise<string> {
    const res = await call(api.url, 'POST', '/api/v1/retention/policies', { token: admin, body });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body.retentionPolicy.id;
  }

  async function runToEnd(input: { retentionRunId: string; dryRun: boolean; policyIds: string[]; asOf: string }, activities: object = {}) {
    const handle = await startRetentionRun(input);
    const worker = await createWorker(RETENTION_TASK_QUEUE, activities);
    const outcome = await worker.runUntil(handle.result().then((result) => ({ result, error: null }), (error: Error) => ({ result: null, error })));
    const view = await call(api.url, 'GET', `/api/v1/retention/runs/${input.retentionRunId}`, { token: operator });
    expect(view.status).to.equal(200);
    return { ...outcome, handle, view: view.body.retentionRun };
  }

  /** The production activities with other settings: smaller batches, a fault, a lower failure maximum. */
  function retentionActivities(overrides: Partial<RetentionActivityDeps> = {}) {
    const { db, config, providers } = shared();
    return createRetentionActivities({ ...retentionActivityDeps(config, db, providers.storage), ...overrides });
  }

  const policyOf = (view: any, policyId: string) => view.policies.find((p: any) => p.policyId === policyId);

  describe('policies', () => {
    it('refuses unknown entities, bad days, foreign criteria columns, unsupported actions and SQL in any field, storing nothing', async () => {
      const { db } = shared();
      const before = await db('data_retention_policies').count('* as n').first();
      const invalid: Array<[number, Record<string, unknown>]> = [
        [400, { entity: 'users', action: 'hard-delete', retentionDays: 30 }],
        [400, { entity: 'stripe_events', action: 'hard-delete', retentionDays: -5 }],
        [400, { entity: 'stripe_events', action: 'hard-delete', retentionDays: 0 }],
        [400, { entity: 'stripe_events', action: 'hard-delete', retentionDays: 1.5 }],
        [400, { entity: 'stripe_events', action: 'shred', retentionDays: 30 }],
        [422, { entity: 'stripe_events', action: 'hard-delete', retentionDays: 30, criteria: { payload: 'x' } }],
        [422, { entity: 'stripe_events', action: 'anonymize', retentionDays: 30 }],
        [400, { entity: "stripe_events'; drop table assets; --", action: 'hard-delete', retentionDays: 30 }],
        [400, { entity: 'stripe_events', action: 'hard-delete', retentionDays: '30; drop table assets' }],
        [400, { entity: 'stripe_events', action: 'hard-delete', retentionDays: 30, criteria: { 'type = type or 1=1; --': 'x' } }],
        [400, { entity: 'stripe_events', action: 'hard-delete', retentionDays: 30, criteria: { type: "x' or '1'='1" } }],
        [400, { entity: 'stripe_events', action: 'hard-delete', retentionDays: 30, criteria: { type: ['ok', 'x); delete from assets; --'] } }],
        [400, { entity: 'stripe_events', action: 'hard-delete', retentionDays: 30, where: '1=1' }],
      ];
      for (const [status, body] of invalid) {
        const res = await call(api.url, 'POST', '/api/v1/retention/policies', { token: admin, body });
        expect(res.status, JSON.stringify(body)).to.equal(status);
        expect(res.body.type).to.equal('validation_error');
        expect(res.body.requestId).to.be.a('string');
      }
      const learner = await call(api.url, 'POST', '/api/v1/retention/policies', {
        token: tokenFor('operator'),
        body: { entity: 'stripe_events', action: 'hard-delete', retentionDays: 30 },
      });
      expect(learner.status).to.equal(403);
      const after = await db('data_retention_policies').count('* as n').first();
      expect(after?.n).to.equal(before?.n);
    });

    it('creates, reads and patches a policy; a patch that breaks the allow-list changes nothing', async () => {
      const id = await createPolicy({ entity: 'asset_ingestion_events', action: 'hard-delete', retentionDays: 30, criteria: { step: ['failed', 'started'] } });
      const patched = await call(api.url, 'PATCH', `/api/v1/retention/policies/${id}`, { token: admin, body: { retentionDays: 45, active: false } });
      expect(patched.status).to.equal(200);
      expect(patched.body.retentionPolicy).to.include({ retentionDays: 45, active: false, entity: 'asset_ingestion_events' });
      const bad = await call(api.url, 'PATCH', `/api/v1/retention/policies/${id}`, { token: admin, body: { criteria: { detail: 'x' }, retentionDays: 1 } });
      expect(bad.status).to.equal(422);
      expect(bad.body.code).to.equal('INVALID_RETENTION_POLICY');
      const entityChange = await call(api.url, 'PATCH', `/api/v1/retention/policies/${id}`, { token: admin, body: { entity: 'stripe_events' } });
      expect(entityChange.status).to.equal(400);
      const got = await call(api.url, 'GET', `/api/v1/retention/policies/${id}`, { token: admin });
      expect(got.body.retentionPolicy).to.deep.include({ retentionDays: 45, active: false, criteria: { step: ['failed', 'started'] } });
      const missing = await call(api.url, 'GET', `/api/v1/retention/policies/${randomUUID()}`, { token: admin });
      expect(missing.status).to.equal(404);
    });

    it('seeds the default policies of SPEC §4.5 and §5, and seeding again changes nothing', async () => {
      const { db } = shared();
      await seedRetentionPolicies(db);
      await db('data_retention_policies').where('id', DEFAULT_POLICIES[1].id).update({ retentionDays: 120 });
      await seedRetentionPolicies(db);
      const rows = await db('data_retention_policies').whereIn('id', DEFAULT_POLICIES.map((p) => p.id)).orderBy('id');
      expect(rows.map((r) => [r.entity, r.action, r.retentionDays])).to.deep.equal([
        ['telemetry_events', 'anonymize', 365],
        ['stripe_events', 'hard-delete', 120],
        ['asset_ingestion_events', 'hard-delete', 365],
        ['abandoned_uploads', 'soft-delete', 7],
        ['quarantined_objects', 'hard-delete', 30],
        ['telemetry_export_objects', 'hard-delete', 730],
        ['audit_events', 'hard-delete', 730],
        ['outbox_events', 'hard-delete', 30],
        ['webhook_deliveries', 'hard-delete', 90],
      ]);
      await db('data_retention_policies').where('id', DEFAULT_POLICIES[1].id).update({ retentionDays: 90 });
    });
  });

  it('a dry run changes nothing and counts right; a live run changes exactly the expired rows and objects and audits each policy', async () => {
    const { db, config, providers } = shared();
    const { storage } = providers;
    const tag = `rt-${randomUUID().slice(0, 8)}`;
    const asOf = new Date(Date.now() - 60_000);
    const policies: Record<string, string> = {};
    const expected: Record<string, string[]> = {};
    const kept: Record<string, string[]> = {};

    // Asset ingestion events, 365 days: two expired, one exactly at the cut-off, one inside.
    const events = aroundCutoff(asOf, 365);
    const owner = await insertAsset(db, { ownerId: tag, status: 'ready', createdAt: new Date() });
    const [e1, e2, e3, e4] = await insertIngestionEvents(db, owner.id, tag, [events.longExpired, events.expired, events.atCutoff, events.inside]);
    policies.events = await createPolicy({ entity: 'asset_ingestion_events', action: 'hard-delete', retentionDays: 365, criteria: { step: tag } });
    expected.events = [e1, e2];
    kept.events = [e3, e4];

    // Abandoned uploads, 7 days: the expired one loses its upload object; the one at the cut-off keeps it.
    const uploads = aroundCutoff(asOf, 7);
    const abandoned = await insertAsset(db, { ownerId: tag, status: 'awaiting_upload', createdAt: uploads.expired });
    const atCutoffUpload = await insertAsset(db, { ownerId: tag, status: 'awaiting_upload', createdAt: uploads.atCutoff });
    const oldReady = await insertAsset(db, { ownerId: tag, status: 'ready', createdAt: uploads.longExpired });
    for (const a of [abandoned, atCutoffUpload, oldReady]) {
      await storage.put(config.S3_BUCKET_UPLOADS, a.uploadKey, Buffer.from('%PDF'), { contentType: 'application/pdf' });
    }
    policies.uploads = await createPolicy({ entity: 'abandoned_uploads', action: 'soft-delete', retentionDays: 7, criteria: { owner_id: tag } });
    expected.uploads = [abandoned.id];

    // Quarantined objects, 30 days by updated_at.
    const quarantine = aroundCutoff(asOf, 30);
    const oldInfected = await insertAsset(db, { ownerId: tag, status: 'quarantined', createdAt: quarantine.longExpired, updatedAt: quarantine.expired });
    const recentInfected = await insertAsset(db, { ownerId: tag, status: 'quarantined', createdAt: quarantine.longExpired, updatedAt: quarantine.inside });
    for (const a of [oldInfected, recentInfected]) {
      await storage.put(config.S3_BUCKET_QUARANTINE, a.uploadKey, Buffer.from('X5O!'), { contentType: 'application/pdf' });
    }
    policies.quarantine = await createPolicy({ entity: 'quarantined_objects', action: 'hard-delete', retentionDays: 30, criteria: { owner_id: tag } });
    expected.quarantine = [oldInfected.id];

    // Stripe webhook events (90 days) and telemetry (365 days anonymized, 730 days for export objects) once their tables exist.
    const hasStripe = await tableExists(db, 'stripe_events');
    if (hasStripe) {
      const stripe = aroundCutoff(asOf, 90);
      const ids = [stripe.expired, stripe.atCutoff, stripe.inside].map((receivedAt, i) => ({ id: `evt_${tag}_${i}`, type: tag, payload: {}, receivedAt }));
      await db('stripe_events').insert(ids);
      policies.stripe = await createPolicy({ entity: 'stripe_events', action: 'hard-delete', retentionDays: 90, criteria: { type: tag } });
      expected.stripe = [ids[0].id];
      kept.stripe = [ids[1].id, ids[2].id];
    }
    const hasTelemetry = (await tableExists(db, 'telemetry_events')) && (await tableExists(db, 'telemetry_exports'));
    let exportKeys: string[] = [];
    if (hasTelemetry) {
      const telemetry = aroundCutoff(asOf, 365);
      const rows = [telemetry.expired, telemetry.atCutoff, telemetry.inside, telemetry.longExpired].map((occurredAt, i) => ({
        eventId: `${tag}-${i}`, source: 'web', name: tag, occurredAt, userId: `learner-${i}`, scope: 'analytics',
        properties: { page: i }, status: 'accepted', anonymizedAt: i === 3 ? telemetry.expired : null,
      }));
      const inserted = (await db('telemetry_events').insert(rows).returning('id')) as Array<{ id: string }>;
      policies.telemetry = await createPolicy({ entity: 'telemetry_events', action: 'anonymize', retentionDays: 365, criteria: { name: tag } });
      expected.telemetry = [String(inserted[0].id)];
      kept.telemetry = inserted.slice(1, 3).map((r) => String(r.id));

      const exportsAt = aroundCutoff(asOf, 730);
      // Export rows of earlier runs of this test are past any later cut-off: they go first.
      await db('telemetry_exports').where('key', 'like', 'retention-test/%').delete();
      const exportRows = [exportsAt.expired, exportsAt.inside].map((createdAt, i) => ({
        batchId: `${tag}-${i}`, bucket: config.TELEMETRY_EXPORT_BUCKET, key: `retention-test/${tag}-${i}.jsonl.gz`, count: 1, bytes: 4, createdAt,
      }));
      await db('telemetry_exports').insert(exportRows);
      for (const r of exportRows) await storage.put(r.bucket, r.key, Buffer.from('{}\n'), { contentType: 'application/gzip' });
      exportKeys = exportRows.map((r) => r.key);
      policies.exports = await createPolicy({ entity: 'telemetry_export_objects', action: 'hard-delete', retentionDays: 730 });
      expected.exports = [exportRows[0].batchId];
    }
    const policyIds = Object.values(policies);
    const exists = (bucket: string, key: string) => storage.head(bucket, key).then((h) => h !== null);

    // Batches of one row: every policy pages through its rows by keyset, one transaction each.
    const paged = retentionActivities({ batchSize: 1 });

    // Dry run: counts and samples, nothing changed, no audit row.
    const dry = await runToEnd({ retentionRunId: randomUUID(), dryRun: true, policyIds, asOf: asOf.toISOString() }, paged);
    expect(dry.error, dry.error?.message).to.equal(null);
    expect(dry.view).to.include({ status: 'completed', dryRun: true });
    for (const [name, policyId] of Object.entries(policies)) {
      const p = policyOf(dry.view, policyId);
      expect(p, name).to.include({ matched: expected[name].length, affected: 0, status: 'completed', error: null });
      expect(p.sampleIds, name).to.have.members(expected[name]);
    }
    expect(await db('asset_ingestion_events').whereIn('id', [...expected.events, ...kept.events]).count('* as n').first()).to.deep.equal({ n: '4' });
    expect((await db('assets').where('id', abandoned.id).first()).status).to.equal('awaiting_upload');
    expect(await exists(config.S3_BUCKET_UPLOADS, abandoned.uploadKey)).to.equal(true);
    expect(await exists(config.S3_BUCKET_QUARANTINE, oldInfected.uploadKey)).to.equal(true);
    expect(await db('data_retention_audit_logs').where('retentionRunId', dry.view.id)).to.have.length(0);

    // Live run: exactly the expired ones.
    const live = await runToEnd({ retentionRunId: randomUUID(), dryRun: false, policyIds, asOf: asOf.toISOString() }, paged);
    expect(live.error, live.error?.message).to.equal(null);
    expect(live.view).to.include({ status: 'completed', dryRun: false });
    for (const [name, policyId] of Object.entries(policies)) {
      expect(policyOf(live.view, policyId), name).to.include({ matched: expected[name].length, affected: expected[name].length });
    }
    const remaining = (await db('asset_ingestion_events').whereIn('id', [...expected.events, ...kept.events])).map((r) => String(r.id));
    expect(remaining).to.have.members(kept.events);

    const assetsNow = new Map((await db('assets').where('ownerId', tag)).map((a) => [a.id, a]));
    expect(assetsNow.get(abandoned.id)).to.include({ status: 'deleted' });
    expect(assetsNow.get(abandoned.id).deletedAt).to.be.instanceOf(Date);
    expect(assetsNow.get(atCutoffUpload.id)).to.include({ status: 'awaiting_upload', deletedAt: null });
    expect(assetsNow.get(oldReady.id)).to.include({ status: 'ready' });
    expect(assetsNow.get(oldInfected.id)).to.include({ status: 'deleted' });
    expect(assetsNow.get(recentInfected.id)).to.include({ status: 'quarantined' });
    expect(await exists(config.S3_BUCKET_UPLOADS, abandoned.uploadKey)).to.equal(false);
    expect(await exists(config.S3_BUCKET_UPLOADS, atCutoffUpload.uploadKey)).to.equal(true);
    expect(await exists(config.S3_BUCKET_UPLOADS, oldReady.uploadKey)).to.equal(true);
    expect(await exists(config.S3_BUCKET_QUARANTINE, oldInfected.uploadKey)).to.equal(false);
    expect(await exists(config.S3_BUCKET_QUARANTINE, recentInfected.uploadKey)).to.equal(true);

    if (hasStripe) {
      expect((await db('stripe_events').where('type', tag)).map((r) => r.id)).to.have.members(kept.stripe);
    }
    if (hasTelemetry) {
      const byId = new Map((await db('telemetry_events').where('name', tag)).map((r) => [String(r.id), r]));
      expect(byId.get(expected.telemetry[0])).to.deep.include({ userId: null, properties: {} });
      expect(byId.get(expected.telemetry[0]).anonymizedAt).to.be.instanceOf(Date);
      for (const id of kept.telemetry) expect(byId.get(id)).to.include({ anonymizedAt: null }).and.have.property('userId').that.is.a('string');
      const exportsNow = await db('telemetry_exports').whereIn('key', exportKeys).orderBy('batchId');
      expect(exportsNow.map((r) => r.deletedAt !== null)).to.deep.equal([true, false]);
      expect(await exists(config.TELEMETRY_EXPORT_BUCKET, exportKeys[0])).to.equal(false);
      expect(await exists(config.TELEMETRY_EXPORT_BUCKET, exportKeys[1])).to.equal(true);
    }

    const audit = await call(api.url, 'GET', `/api/v1/retention/audit-logs?retentionRunId=${live.view.id}`, { token: operator });
    expect(audit.status).to.equal(200);
    expect(audit.body.items).to.have.length(policyIds.length);
    for (const [name, policyId] of Object.entries(policies)) {
      const row = audit.body.items.find((a: any) => a.policyId === policyId);
      expect(row, name).to.include({ affected: expected[name].length, matched: expected[name].length, workflowId: `retention:${live.view.id}` });
      expect(row.sampleIds, name).to.have.members(expected[name]);
      expect(row.runId).to.equal(live.handle.firstExecutionRunId);
    }

    // Again, nothing is left to do: anonymized and deleted rows are not counted twice.
    const again = await runToEnd({ retentionRunId: randomUUID(), dryRun: false, policyIds, asOf: asOf.toISOString() });
    for (const policyId of policyIds) expect(policyOf(again.view, policyId)).to.include({ matched: 0, affected: 0 });
  });

  it('batches that end inside rows sharing one timestamp count and change each row once, keyset ids compared as numbers', async () => {
    const { db } = shared();
    const tag = `ties-${randomUUID().slice(0, 8)}`;
    const asOf = new Date(Date.now() - 60_000);
    const { expired, inside } = aroundCutoff(asOf, 365);
    const owner = await insertAsset(db, { ownerId: tag, status: 'ready', createdAt: new Date() });
    // Explicit ids far above the sequence, across a change in digit count ('999…' sorts after '1000…' as text).
    const ids = ['999999999999998', '999999999999999', '1000000000000000', '1000000000000001', '1000000000000002'];
    await db('asset_ingestion_events').whereIn('id', ids).delete();
    await db('asset_ingestion_events').insert(
      ids.map((id) => ({ id, assetId: owner.id, eventKey: `${tag}-${id}`, step: tag, status: 'ok', detail: {}, createdAt: expired })),
    );
    const [keptId] = await insertIngestionEvents(db, owner.id, tag, [inside]);
    const policyId = await createPolicy({ entity: 'asset_ingestion_events', action: 'hard-delete', retentionDays: 365, criteria: { step: tag } });
    // Three rows a batch: the first batch ends on the third row, with the second batch's rows sharing its timestamp.
    const paged = retentionActivities({ batchSize: 3 });

    const dry = await runToEnd({ retentionRunId: randomUUID(), dryRun: true, policyIds: [policyId], asOf: asOf.toISOString() }, paged);
    expect(dry.error, dry.error?.message).to.equal(null);
    expect(policyOf(dry.view, policyId)).to.deep.include({ matched: 5, affected: 0, sampleIds: ids });

    const live = await runToEnd({ retentionRunId: randomUUID(), dryRun: false, policyIds: [policyId], asOf: asOf.toISOString() }, paged);
    expect(live.error, live.error?.message).to.equal(null);
    expect(policyOf(live.view, policyId)).to.deep.include({ matched: 5, affected: 5, sampleIds: ids });
    expect((await db('asset_ingestion_events').where('step', tag)).map((r) => String(r.id))).to.deep.equal([keptId]);
  });

  it('POST /retention/runs answers 202 with the retention run and its workflow run; readers list and get it', async () => {
    const policyId = await createPolicy({ entity: 'asset_ingestion_events', action: 'hard-delete', retentionDays: 365, criteria: { step: `api-${randomUUID()}` } });
    const forbidden = await call(api.url, 'POST', '/api/v1/retention/runs', { token: operator, body: { dryRun: true, policyIds: [policyId] } });
    expect(forbidden.status).to.equal(403);
    const unknown = await call(api.url, 'POST', '/api/v1/retention/runs', { token: admin, body: { dryRun: true, policyIds: [randomUUID()] } });
    expect(unknown.status).to.equal(422);
    expect(unknown.body.code).to.equal('UNKNOWN_POLICY');
    const noFlag = await call(api.url, 'POST', '/api/v1/retention/runs', { token: admin, body: { policyIds: [policyId] } });
    expect(noFlag.status).to.equal(400);

    const started = await call(api.url, 'POST', '/api/v1/retention/runs', { token: admin, body: { dryRun: true, policyIds: [policyId] } });
    expect(started.status, JSON.stringify(started.body)).to.equal(202);
    const { retentionRun, run } = started.body;
    expect(retentionRun).to.include({ status: 'running', dryRun: true, trigger: 'api' });
    expect(run).to.include({ workflowId: `retention:${retentionRun.id}`, type: 'retentionRun', status: 'Running' });
    expect(run.uiUrl).to.contain(encodeURIComponent(run.workflowId));

    const client = await temporalClient();
    const worker = await createWorker(RETENTION_TASK_QUEUE);
    const handle = client.workflow.getHandle(run.workflowId, run.runId);
    const { result, progress } = await worker.runUntil(async () => ({ result: await handle.result(), progress: await handle.query(progressQuery) }));
    expect(result).to.deep.include({ retentionRunId: retentionRun.id, status: 'completed' });
    expect(progress).to.deep.equal({ stage: 'completed', percent: 100, detail: null });

    const got = await call(api.url, 'GET', `/api/v1/retention/runs/${retentionRun.id}`, { token: operator });
    expect(got.body.retentionRun).to.deep.include({ status: 'completed', progress: { stage: 'completed', percent: 100, detail: null } });
    expect(got.body.retentionRun.policies).to.have.length(1);
    expect(got.body.retentionRun.policies[0]).to.include({ policyId, matched: 0, affected: 0 });
    const list = await call(api.url, 'GET', '/api/v1/retention/runs?status=completed&limit=200', { token: operator });
    expect(list.body.items.map((r: any) => r.id)).to.include(retentionRun.id);
    expect((await call(api.url, 'GET', `/api/v1/retention/runs/${randomUUID()}`, { token: operator })).status).to.equal(404);
    expect((await call(api.url, 'GET', '/api/v1/retention/audit-logs', { token: tokenFor('learner') })).status).to.equal(403);
  });

  it('a policy whose bucket is unreachable is retried, counted and rests after DATA_RETENTION_MAX_FAILURES, while the others complete', async () => {
    const { db, config, providers } = shared();
    const tag = `fail-${randomUUID().slice(0, 8)}`;
    const asOf = new Date(Date.now() - 60_000);
    const old = aroundCutoff(asOf, 30);
    const infected = await insertAsset(db, { ownerId: tag, status: 'quarantined', createdAt: old.expired, updatedAt: old.expired });
    await providers.storage.put(config.S3_BUCKET_QUARANTINE, infected.uploadKey, Buffer.from('X5O!'), { contentType: 'application/pdf' });
    const holder = await insertAsset(db, { ownerId: tag, status: 'ready', createdAt: new Date() });
    const failing = await createPolicy({ entity: 'quarantined_objects', action: 'hard-delete', retentionDays: 30, criteria: { owner_id: tag } });
    const healthy = await createPolicy({ entity: 'asset_ingestion_events', action: 'hard-delete', retentionDays: 30, criteria: { step: tag } });

    // The real activities with a quarantine bucket that does not exist on the gateway.
    const activities = retentionActivities({
      buckets: { uploads: config.S3_BUCKET_UPLOADS, quarantine: `edulure-missing-${tag}` },
      maxFailures: 2,
    });
    const policy = async (id: string) => (await call(api.url, 'GET', `/api/v1/retention/policies/${id}`, { token: admin })).body.retentionPolicy;

    for (const attempt of [1, 2]) {
      const [eventId] = await insertIngestionEvents(db, holder.id, tag, [old.longExpired]);
      const run = await runToEnd({ retentionRunId: randomUUID(), dryRun: false, policyIds: [failing, healthy], asOf: asOf.toISOString() }, activities);
      expect(run.error).to.be.instanceOf(WorkflowFailedError);
      expect((run.error as WorkflowFailedError).cause).to.include({ type: RETENTION_POLICY_FAILED });
      expect(run.view.status).to.equal('failed');
      expect(policyOf(run.view, failing).status).to.equal('failed');
      expect(policyOf(run.view, failing).error).to.match(/^bucket edulure-missing-\S+ is unreachable: NotFound/);
      expect(policyOf(run.view, healthy)).to.include({ status: 'completed', affected: 1 });
      expect(await db('asset_ingestion_events').where('id', eventId)).to.have.length(0);
      expect(await db('data_retention_audit_logs').where({ retentionRunId: run.view.id }).select('policyId')).to.deep.equal([{ policyId: healthy }]);
      const attempts = (await run.handle.fetchHistory()).events
        ?.filter((e) => e.activityTaskStartedEventAttributes)
        .map((e) => e.activityTaskStartedEventAttributes?.attempt ?? 0);
      expect(Math.max(...(attempts ?? [])), 'the failing batch was retried').to.equal(5);
      const state = await policy(failing);
      expect(state.consecutiveFailures).to.equal(attempt);
      expect(state.restingUntil === null).to.equal(attempt < 2);
    }

    // Resting: skipped without being tried or counted, and the run completes.
    const rested = await runToEnd({ retentionRunId: randomUUID(), dryRun: false, policyIds: [failing, healthy], asOf: asOf.toISOString() }, activities);
    expect(rested.error).to.equal(null);
    expect(rested.view.status).to.equal('completed');
    expect(policyOf(rested.view, failing).status).to.equal('skipped');
    expect(policyOf(rested.view, failing).error).to.match(/^resting until/);
    expect((await policy(failing)).consecutiveFailures).to.equal(2);
    expect((await db('assets').where('id', infected.id).first()).status).to.equal('quarantined');
    expect(await providers.storage.head(config.S3_BUCKET_QUARANTINE, infected.uploadKey)).to.not.equal(null);
    const metrics = await call(api.url, 'GET', '/metrics');
    expect(metrics.body as unknown as string).to.match(/^retention_policies_resting\{entity="quarantined_objects"\} [1-9]\d*$/m);
  });

  it('a failed run replayed (reset) once its bucket is back completes the failed policy and settles the record', async () => {
    const { db, config, providers } = shared();
    const tag = `replay-${randomUUID().slice(0, 8)}`;
    const asOf = new Date(Date.now() - 60_000);
    const old = aroundCutoff(asOf, 30);
    const infected = await insertAsset(db, { ownerId: tag, status: 'quarantined', createdAt: old.expired, updatedAt: old.expired });
    await providers.storage.put(config.S3_BUCKET_QUARANTINE, infected.uploadKey, Buffer.from('X5O!'), { contentType: 'application/pdf' });
    const failing = await createPolicy({ entity: 'quarantined_objects', action: 'hard-delete', retentionDays: 30, criteria: { owner_id: tag } });
    const broken = retentionActivities({ buckets: { uploads: config.S3_BUCKET_UPLOADS, quarantine: `edulure-missing-${tag}` }, maxFailures: 5 });

    const first = await runToEnd({ retentionRunId: randomUUID(), dryRun: false, policyIds: [failing], asOf: asOf.toISOString() }, broken);
    expect(first.view.status).to.equal('failed');
    const workflowId: string = first.view.workflowId;
    const replay = await call(api.url, 'POST', `/api/v1/runs/${encodeURIComponent(workflowId)}/replay`, {
      token: admin,
      body: { mode: 'reset', reason: 'quarantine bucket restored' },
    });
    expect(replay.status, JSON.stringify(replay.body)).to.equal(202);
    const worker = await createWorker(RETENTION_TASK_QUEUE);
    await worker.runUntil((await temporalClient()).workflow.getHandle(workflowId, replay.body.run.runId).result());

    const view = (await call(api.url, 'GET', `/api/v1/retention/runs/${first.view.id}`, { token: operator })).body.retentionRun;
    expect(view.status).to.equal('completed');
    expect(policyOf(view, failing)).to.include({ status: 'completed', affected: 1 });
    expect(await providers.storage.head(config.S3_BUCKET_QUARANTINE, infected.uploadKey)).to.equal(null);
    expect((await db('assets').where('id', infected.id).first()).status).to.equal('deleted');
  });

  it('schedules data-retention from DATA_RETENTION_CRON/TIMEZONE, paused when disabled, dry when DATA_RETENTION_DRY_RUN', () => {
    const { config } = shared();
    const plain = { TEMPORAL_PAYLOAD_KEYS: undefined, TEMPORAL_PAYLOAD_ACTIVE_KEY: undefined };
    const find = (overrides: Partial<typeof config>) => scheduleDefinitions({ ...config, ...plain, ...overrides }).find((d) => d.id === 'data-retention');
    const on = find({ DATA_RETENTION_CRON: '15 2 * * *', DATA_RETENTION_TIMEZONE: 'Europe/Berlin', DATA_RETENTION_ENABLED: true, DATA_RETENTION_DRY_RUN: false });
    expect(on).to.deep.include({ workflowType: 'retentionRun', taskQueue: 'retention', cron: '15 2 * * *', timezone: 'Europe/Berlin', paused: false });
    expect(on?.args).to.deep.equal([{ dryRun: false, trigger: 'schedule' }]);
    const off = find({ DATA_RETENTION_ENABLED: false, DATA_RETENTION_DRY_RUN: true });
    expect(off).to.deep.include({ paused: true });
    expect(off?.args).to.deep.equal([{ dryRun: true, trigger: 'schedule' }]);
    // With encrypted payloads the run keeps its policies' error text out of its failure message (SPEC §3).
    const encrypted = find({ DATA_RETENTION_DRY_RUN: false, TEMPORAL_PAYLOAD_KEYS: JSON.stringify({ k: Buffer.alloc(32).toString('base64') }), TEMPORAL_PAYLOAD_ACTIVE_KEY: 'k' });
    expect(encrypted?.args).to.deep.equal([{ dryRun: false, trigger: 'schedule', encryptedHistory: true }]);
  });
});
