import { randomUUID } from 'node:crypto';
import type { ScheduleHandle } from '@temporalio/client';
import { expect } from 'chai';
import { WorkflowFailedError } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { createTelemetryActivities } from '../../activities/telemetry';
import type { Knex } from 'knex';
import { EXPORT_CHECKPOINT, TelemetryCheckpoint, TelemetryEvent, TelemetryExport } from '../../db/models/Telemetry';
import { INGESTION_LOCK_KEY } from '../../services/telemetry';
import { scheduleDefinitions, syncSchedules } from '../../lib/schedules';
import { createStorageFromConfig } from '../../providers';
import {
  TELEMETRY_EXPORT_SCHEDULE_ID,
  TELEMETRY_EXPORT_WORKFLOW,
  TELEMETRY_TASK_QUEUE,
  telemetryExportInput,
  type TelemetryExportResult,
} from '../../workflows/telemetryExport.contract';
import { call, tokenFor } from '../support/http';
import { createWorker, shared, startApi, temporalClient, workflowBundle, type TestApi } from '../support/shared';
import { expectExactlyOnce, exportedObjectsSince, ingest, makeEvents, occurrences, recordConsent } from '../support/telemetry';
import { createTimeSkippingEnv } from '../support/timeSkipping';
import { waitFor } from '../support/wait';

const storedIds = async (eventIds: string[]) =>
  (await TelemetryEvent.query(shared().db).whereIn('eventId', eventIds)).map((e) => e.eventId).sort();

describe('telemetry ingestion (SPEC §4.3)', () => {
  let api: TestApi;
  const service = tokenFor('service');

  before(async () => {
    api = await startApi();
  });

  it('stores each eventId once: repeats in the request and across requests are counted as duplicates', async () => {
    const [a, b] = makeEvents(2);
    const first = await ingest(api.url, service, [a, b, { ...a, name: 'changed' }]);
    expect(first.status, JSON.stringify(first.body)).to.equal(202);
    expect(first.body).to.deep.equal({ accepted: 2, duplicates: 1, suppressed: 0, rejected: [] });
    const again = await ingest(api.url, service, [b]);
    expect(again.body).to.deep.equal({ accepted: 0, duplicates: 1, suppressed: 0, rejected: [] });
    const rows = await TelemetryEvent.query(shared().db).whereIn('eventId', [a.eventId, b.eventId]).orderBy('id');
    expect(rows.map((r) => [r.eventId, r.name, r.scope, r.status])).to.deep.equal([
      [a.eventId, a.name, 'analytics', 'accepted'],
      [b.eventId, b.name, 'analytics', 'accepted'],
    ]);
  });

  it('hard-blocks events without active consent: stored as suppressed; a revocation suppresses pending events', async () => {
    const granted = `learner-${randomUUID()}`;
    const unknown = `learner-${randomUUID()}`;
    await recordConsent(api.url, service, granted, 'granted');
    const [ok, blocked, otherScope, anonymous] = [
      ...makeEvents(1, { userId: granted }),
      ...makeEvents(1, { userId: unknown }),
      ...makeEvents(1, { userId: granted, scope: 'marketing' }),
      ...makeEvents(1),
    ];
    const res = await ingest(api.url, service, [ok, blocked, otherScope, anonymous]);
    expect(res.body).to.deep.equal({ accepted: 2, duplicates: 0, suppressed: 2, rejected: [] });
    const status = async (eventId: string) => (await TelemetryEvent.query(shared().db).findOne({ eventId }))?.status;
    expect(await status(ok.eventId)).to.equal('accepted');
    expect(await status(blocked.eventId)).to.equal('suppressed');
    expect(await status(otherScope.eventId)).to.equal('suppressed');
    expect(await status(anonymous.eventId)).to.equal('accepted');

    const revoked = await recordConsent(api.url, service, granted, 'revoked');
    expect(revoked.consent).to.include({ userId: granted, scope: 'analytics', status: 'revoked', version: 'v1' });
    expect(revoked.suppressedEvents).to.equal(1);
    expect(await status(ok.eventId)).to.equal('suppressed');
    const after = await ingest(api.url, service, makeEvents(1, { userId: granted }));
    expect(after.body).to.deep.include({ accepted: 0, suppressed: 1 });
  });

  it('without the hard block, events without consent are accepted', async () => {
    const lenient = await startApi({ TELEMETRY_CONSENT_HARD_BLOCK: false });
    const res = await ingest(lenient.url, service, makeEvents(2, { userId: `learner-${randomUUID()}` }));
    expect(res.body).to.deep.equal({ accepted: 2, duplicates: 0, suppressed: 0, rejected: [] });
  });

  it('rejects unknown sources per event, or the whole request (422, nothing stored) under strict enforcement', async () => {
    const events = makeEvents(3);
    events[1].source = 'smart-fridge';
    const lenient = await ingest(api.url, service, events);
    expect(lenient.body).to.deep.equal({ accepted: 2, duplicates: 0, suppressed: 0, rejected: [{ index: 1, code: 'SOURCE_NOT_ALLOWED' }] });
    expect(await storedIds(events.map((e) => e.eventId))).to.deep.equal([events[0].eventId, events[2].eventId].sort());

    const strictApi = await startApi({ TELEMETRY_STRICT_SOURCE_ENFORCEMENT: true });
    const fresh = makeEvents(3);
    fresh[2].source = 'smart-fridge';
    const strict = await ingest(strictApi.url, service, fresh);
    expect(strict.status).to.equal(422);
    expect(strict.body).to.include({ type: 'validation_error', code: 'SOURCE_NOT_ALLOWED' });
    expect(strict.body.details[0].path).to.equal('body/events/2/source');
    expect(await storedIds(fresh.map((e) => e.eventId))).to.deep.equal([]);
  });

  it('answers more than 1000 events with 413 and stores none', async () => {
    const events = makeEvents(1001);
    const res = await ingest(api.url, service, events);
    expect(res.status).to.equal(413);
    expect(res.body).to.include({ code: 'TOO_MANY_EVENTS' });
    expect(await storedIds(events.map((e) => e.eventId))).to.deep.equal([]);
  });

  it('answers 503 when ingestion is switched off and stores nothing', async () => {
    const off = await startApi({ TELEMETRY_INGESTION_ENABLED: false });
    const events = makeEvents(2);
    const res = await ingest(off.url, service, events);
    expect(res.status).to.equal(503);
    expect(res.body).to.include({ type: 'unavailable', code: 'TELEMETRY_INGESTION_DISABLED' });
    expect(await storedIds(events.map((e) => e.eventId))).to.deep.equal([]);
  });

  it('refuses a malformed event with 400 and stores none of the request', async () => {
    const events = makeEvents(2);
    const res = await ingest(api.url, service, [events[0], { ...events[1], extra: true } as never]);
    expect(res.status).to.equal(400);
    expect(res.body.details).to.deep.include({ path: 'body/events/1/extra', message: 'is not allowed' });
    expect(await storedIds(events.map((e) => e.eventId))).to.deep.equal([]);
  });

  it('enforces roles: only services ingest; learners record only their own consent; operators see exports', async () => {
    const events = makeEvents(1);
    for (const role of ['learner', 'operator', 'admin'] as const) {
      const res = await ingest(api.url, tokenFor(role), events);
      expect(res.status, role).to.equal(403);
      expect(res.body.type).to.equal('permission_error');
    }
    expect((await ingest(api.url, '', events)).status).to.equal(401);
    expect(await storedIds([events[0].eventId])).to.deep.equal([]);

    const learner = tokenFor('learner', `learner-${randomUUID()}`);
    const learnerId = JSON.parse(Buffer.from(learner.split('.')[1], 'base64url').toString()).sub as string;
    const other = await call(api.url, 'POST', '/api/v1/telemetry/consents', {
      token: learner,
      body: { userId: 'someone-else', scope: 'analytics', status: 'granted', version: 'v1' },
    });
    expect(other.status).to.equal(403);
    expect(other.body.code).to.equal('CONSENT_NOT_OWN');
    const own = await recordConsent(api.url, learner, learnerId, 'granted');
    expect(own.consent.recordedBy).to.equal(learnerId);

    for (const path of ['/api/v1/telemetry/exports', '/api/v1/telemetry/freshness']) {
      expect((await call(api.url, 'GET', path, { token: learner })).status, path).to.equal(403);
      expect((await call(api.url, 'GET', path, { token: tokenFor('operator') })).status, path).to.equal(200);
    }
    expect((await call(api.url, 'POST', '/api/v1/telemetry/exports', { token: tokenFor('service') })).status).to.equal(403);
  });

  it('counts ingestion outcomes in telemetry_ingestion_events_total and reports telemetry_export_lag_seconds', async () => {
    const events = makeEvents(2);
    events[1].source = 'toaster';
    await ingest(api.url, service, [...events, events[0]]);
    const metrics = await call<string>(api.url, 'GET', '/metrics');
    expect(metrics.body).to.match(/telemetry_ingestion_events_total\{status="duplicate"\} [1-9]/);
    expect(metrics.body).to.match(/telemetry_ingestion_events_total\{status="rejected"\} [1-9]/);
    expect(metrics.body).to.match(/telemetry_export_lag_seconds \d+/);
  });
});

/** Whether a session waits for the ingestion lock exclusively: an export's claim behind an insert in flight. */
async function claimIsWaiting(db: Knex): Promise<boolean> {
  const { rows } = (await db.raw(
    `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = ? AND mode = 'ExclusiveLock' AND NOT granted`,
    [INGESTION_LOCK_KEY],
  )) as { rows: Array<{ n: number }> };
  return rows[0].n > 0;
}

describe('telemetry export (SPEC §4.3)', () => {
  const service = tokenFor('service');
  const operator = tokenFor('operator');

  async function startExport(api: TestApi) {
    const res = await call(api.url, 'POST', '/api/v1/telemetry/exports', { token: operator });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    expect(res.body.run.workflowId).to.match(/^telemetry-export:manual-[0-9a-f-]{36}$/);
    return res.body.run as { workflowId: string; runId: string };
  }

  async function exportAll(api: TestApi): Promise<TelemetryExportResult> {
    const run = await startExport(api);
    const client = await temporalClient();
    const worker = await createWorker(TELEMETRY_TASK_QUEUE);
    return worker.runUntil(client.workflow.getHandle(run.workflowId).result());
  }

  it('exports every accepted event exactly once, in gzipped JSONL with lineage metadata, and never a suppressed one', async () => {
    const since = new Date();
    const api = await startApi({ TELEMETRY_EXPORT_BATCH_SIZE: 7 });
    const consenting = `learner-${randomUUID()}`;
    await recordConsent(api.url, service, consenting, 'granted');
    const accepted = [...makeEvents(12, { userId: consenting }), ...makeEvents(5)];
    const suppressed = makeEvents(4, { userId: `learner-${randomUUID()}` });
    const res = await ingest(api.url, service, [...accepted, ...suppressed, accepted[0]]);
    expect(res.body).to.deep.equal({ accepted: 17, duplicates: 1, suppressed: 4, rejected: [] });

    const result = await exportAll(api);
    expect(result.batches).to.be.greaterThan(0);
    const objects = await exportedObjectsSince(since);
    expectExactlyOnce(objects, accepted.map((e) => e.eventId));
    expect([...occurrences(objects, suppressed.map((e) => e.eventId)).values()]).to.deep.equal([0, 0, 0, 0]);

    const { config, providers } = shared();
    const line = objects.flatMap((o) => o.lines).find((l) => l.eventId === accepted[3].eventId);
    expect(line).to.deep.equal({
      eventId: accepted[3].eventId,
      source: 'web',
      name: 'lesson.viewed',
      occurredAt: accepted[3].occurredAt,
      receivedAt: line?.receivedAt,
      userId: consenting,
      scope: 'analytics',
      properties: accepted[3].properties,
    });
    const object = objects.find((o) => o.eventIds.includes(accepted[3].eventId));
    expect(object?.key).to.match(new RegExp(`^${config.TELEMETRY_EXPORT_PREFIX}/dt=\\d{4}-\\d{2}-\\d{2}/${object?.batchId}\\.jsonl\\.gz$`));
    const head = await providers.storage.head(config.TELEMETRY_EXPORT_BUCKET, object?.key ?? '');
    expect(head?.metadata).to.include({ 'lineage-tool': config.TELEMETRY_LINEAGE_TOOL, 'batch-id': object?.batchId });

    const list = await call(api.url, 'GET', '/api/v1/telemetry/exports?limit=2', { token: operator });
    expect(list.status).to.equal(200);
    expect(list.body.items).to.have.length(2);
    expect(list.body.items[0].createdAt >= list.body.items[1].createdAt).to.equal(true);
    expect(list.body.items[0]).to.have.all.keys('batchId', 'bucket', 'key', 'count', 'bytes', 'firstEventAt', 'lastEventAt', 'createdAt');
    const next = await call(api.url, 'GET', `/api/v1/telemetry/exports?limit=2&cursor=${list.body.nextCursor}`, { token: operator });
    expect(next.body.items.map((i: { batchId: string }) => i.batchId)).to.not.include.members(
      list.body.items.map((i: { batchId: string }) => i.batchId),
    );

    const fresh = await call(api.url, 'GET', '/api/v1/telemetry/freshness', { token: operator });
    expect(fresh.body.ingestion.stale).to.equal(false);
    expect(fresh.body.export).to.include({ pending: 0, lagSeconds: 0, stale: false });
    expect(fresh.body.export.checkpointAt).to.be.a('string');
  });

  it('an event whose insert commits after later ones is exported too: a claim waits for the inserts in flight', async () => {
    const since = new Date();
    const { db } = shared();
    const api = await startApi({ TELEMETRY_EXPORT_BATCH_SIZE: 50 });
    // An ingestion caught mid-transaction, as the API runs it: the shared ingestion lock
    // held and the row inserted (its id taken) but not committed.
    const [slow] = makeEvents(1);
    const inFlight = await db.transaction();
    try {
      await inFlight.raw('SELECT pg_advisory_xact_lock_shared(?)', [INGESTION_LOCK_KEY]);
      await inFlight('telemetry_events').insert({
        eventId: slow.eventId, source: slow.source, name: slow.name, occurredAt: slow.occurredAt,
        scope: 'analytics', properties: JSON.stringify(slow.properties), status: 'accepted',
      });
      const later = makeEvents(3);
      expect((await ingest(api.url, service, later)).body).to.include({ accepted: 3 });

      const run = await startExport(api);
      const client = await temporalClient();
      const worker = await createWorker(TELEMETRY_TASK_QUEUE);
      await worker.runUntil(async () => {
        await waitFor('the claim waiting for the insert in flight', () => claimIsWaiting(db));
        await inFlight.commit();
        await client.workflow.getHandle(run.workflowId).result();
      });
      expectExactlyOnce(await exportedObjectsSince(since), [slow.eventId, ...later.map((e) => e.eventId)]);
    } finally {
      if (!inFlight.isCompleted()) await inFlight.rollback();
    }
  });

  it('an export row written outside an export (a restored or seeded record) is a finished batch, never resumed as open', async () => {
    const since = new Date();
    const { config, db } = shared();
    const api = await startApi();
    const seeded = { batchId: `seeded-${randomUUID()}`, bucket: config.TELEMETRY_EXPORT_BUCKET, key: `seeded/${randomUUID()}.jsonl.gz`, count: 1, bytes: 4 };
    await db('telemetry_exports').insert({ ...seeded, createdAt: new Date(Date.now() - 3_600_000) });
    const events = makeEvents(3);
    await ingest(api.url, service, events);
    await exportAll(api);
    expectExactlyOnce(await exportedObjectsSince(since), events.map((e) => e.eventId));
    expect(await TelemetryExport.query(db).findById(seeded.batchId)).to.include({ key: seeded.key, count: 1 });
  });

  it('an export with nothing pending writes nothing', async () => {
    const api = await startApi();
    await exportAll(api);
    const since = new Date();
    const result = await exportAll(api);
    expect(result).to.deep.equal({ batches: 0, events: 0, runs: 1 });
    expect(await exportedObjectsSince(since)).to.deep.equal([]);
  });

  it('a backlog larger than one run continues as new and exports completely', async () => {
    const since = new Date();
    const api = await startApi({ TELEMETRY_EXPORT_BATCH_SIZE: 4, TELEMETRY_EXPORT_MAX_BATCHES_PER_RUN: 2 });
    const events = makeEvents(23);
    await ingest(api.url, service, events);
    const run = await startExport(api);
    const client = await temporalClient();
    const worker = await createWorker(TELEMETRY_TASK_QUEUE);
    const result = await worker.runUntil(client.workflow.getHandle(run.workflowId).result());
    expect(result.runs).to.be.greaterThanOrEqual(3);
    const first = await client.workflow.getHandle(run.workflowId, run.runId).describe();
    expect(first.status.name).to.equal('CONTINUED_AS_NEW');
    expectExactlyOnce(await exportedObjectsSince(since), events.map((e) => e.eventId));
  });

  it('two exports racing (a schedule trigger and manual runs) never export an event twice', async () => {
    const since = new Date();
    const { config } = shared();
    const settings = { ...config, TELEMETRY_EXPORT_BATCH_SIZE: 3, TELEMETRY_EXPORT_MAX_BATCHES_PER_RUN: 100 };
    const api = await startApi(settings);
    const events = makeEvents(60);
    await ingest(api.url, service, events);

    const client = await temporalClient();
    const definition = scheduleDefinitions(settings).find((d) => d.id === TELEMETRY_EXPORT_SCHEDULE_ID);
    expect(definition?.cron).to.equal(config.TELEMETRY_EXPORT_CRON);
    // The production definition under a name of its own, so this test triggers only its own schedule.
    const scheduleId = `${TELEMETRY_EXPORT_SCHEDULE_ID}-race-${randomUUID()}`;
    await syncSchedules(client, [{ ...definition!, id: scheduleId, paused: true }]);
    const schedule = client.schedule.getHandle(scheduleId);
    const worker = await createWorker(TELEMETRY_TASK_QUEUE);
    try {
      await worker.runUntil(async () => {
        const [, ...manual] = await Promise.all([schedule.trigger(), startExport(api), startExport(api)]);
        const scheduled = await waitForScheduledRun(schedule);
        const results = await Promise.all(
          [scheduled, ...manual.map((r) => r.workflowId)].map((id) => client.workflow.getHandle(id).result()),
        );
        expect(results.reduce((sum, r) => sum + r.events, 0)).to.be.greaterThanOrEqual(events.length);
      });
    } finally {
      await schedule.delete();
    }
    const objects = await exportedObjectsSince(since);
    expectExactlyOnce(objects, events.map((e) => e.eventId));
    expect(new Set(objects.map((o) => o.key)).size, 'one object per batch').to.equal(objects.length);
  });

  it('an export whose upload keeps failing records the failure and fails the run; the next export resumes its batch', async () => {
    const since = new Date();
    const { config, db } = shared();
    const api = await startApi();
    const events = makeEvents(5);
    await ingest(api.url, service, events);
    // Storage nobody listens for: every upload is refused, and the time-skipping
    // server lets the retries run out without waiting for their backoff.
    const env = await createTimeSkippingEnv();
    const unreachable = createStorageFromConfig({ ...config, S3_ENDPOINT: 'http://127.0.0.1:9', PROVIDER_TIMEOUT_MS: 1000 });
    try {
      const worker = await Worker.create({
        connection: env.nativeConnection,
        namespace: env.namespace ?? 'default',
        taskQueue: TELEMETRY_TASK_QUEUE,
        workflowBundle: await workflowBundle(),
        activities: createTelemetryActivities({
          db,
          storage: unreachable,
          exports: { bucket: config.TELEMETRY_EXPORT_BUCKET, prefix: 'unreachable', compress: true, lineageTool: 'test' },
        }),
      });
      const run = worker.runUntil(
        env.client.workflow.execute(TELEMETRY_EXPORT_WORKFLOW, {
          taskQueue: TELEMETRY_TASK_QUEUE,
          workflowId: `telemetry-export:manual-${randomUUID()}`,
          args: [telemetryExportInput(config)],
        }),
      );
      const failure = await run.then(() => null, (err: unknown) => err);
      expect(failure).to.be.instanceOf(WorkflowFailedError);
    } finally {
      unreachable.close();
      await env.teardown();
    }
    const checkpoint = await TelemetryCheckpoint.query(db).findById(EXPORT_CHECKPOINT);
    expect(checkpoint?.lastFailure).to.match(/^export failed after retries: /);
    const exported = await TelemetryExport.query(db).where('createdAt', '>=', since).whereNotNull('committedAt').resultSize();
    expect(exported, 'no batch committed while the upload fails').to.equal(0);

    await exportAll(api);
    expectExactlyOnce(await exportedObjectsSince(since), events.map((e) => e.eventId));
    expect((await TelemetryCheckpoint.query(db).findById(EXPORT_CHECKPOINT))?.lastFailure).to.equal(null);
  });

  it('the schedule follows TELEMETRY_EXPORT_CRON/TIMEZONE and is paused when TELEMETRY_EXPORT_ENABLED=false', () => {
    const { config } = shared();
    const find = (overrides: Partial<typeof config>) =>
      scheduleDefinitions({ ...config, ...overrides }).find((d) => d.id === TELEMETRY_EXPORT_SCHEDULE_ID);
    expect(find({ TELEMETRY_EXPORT_CRON: '*/5 * * * *', TELEMETRY_EXPORT_TIMEZONE: 'Europe/London', TELEMETRY_EXPORT_ENABLED: true })).to.include({
      cron: '*/5 * * * *',
      timezone: 'Europe/London',
      paused: false,
      workflowType: 'telemetryExport',
    });
    expect(find({ TELEMETRY_EXPORT_ENABLED: false })?.paused).to.equal(true);
  });
});

/** The workflow ID of the run a schedule trigger started. */
function waitForScheduledRun(schedule: ScheduleHandle): Promise<string> {
  return waitFor('the schedule trigger to start a run', async () => {
    const { info } = await schedule.describe();
    return info.runningActions[0]?.workflow.workflowId ?? info.recentActions[0]?.action.workflow.workflowId;
  });
}
