import { expect } from 'chai';
import { Webhook } from 'standardwebhooks';
import type { Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { failIngestion } from '../../services/assets/ingestion';
import { recordOutboxEvent } from '../../services/notifications/outbox';
import { NOTIFICATIONS_TASK_QUEUE } from '../../workflows/webhookDelivery.contract';
import type { Dispatcher } from '../../workers/dispatcher';
import { call, tokenFor } from '../support/http';
import { createPayment, paymentsWorkerVia, postWebhook, startStripeProxy, stripeEvent } from '../support/payments';
import { createWorker, shared, startApi, temporalClient, type TestApi } from '../support/shared';
import type { StripeProxy } from '../support/stripeProxy';
import { waitFor } from '../support/wait';
import { admin, dispatcherFor, registerEndpoint, WebhookReceiver, type ReceivedWebhook } from '../support/webhooks';

const headersOf = (w: ReceivedWebhook) => ({
  'webhook-id': String(w.headers['webhook-id']),
  'webhook-timestamp': String(w.headers['webhook-timestamp']),
  'webhook-signature': String(w.headers['webhook-signature']),
});

describe('notifications: signed webhooks from the outbox (SPEC §4.7)', () => {
  let api: TestApi;
  let receiver: WebhookReceiver;
  let notifications: Worker;
  let running: Promise<void>;
  let dispatcher: Dispatcher | undefined;
  const endpoints: string[] = [];

  before(async () => {
    api = await startApi({ RATE_LIMIT_BURST: 10000 });
    receiver = await WebhookReceiver.start();
    notifications = await createWorker(NOTIFICATIONS_TASK_QUEUE);
    running = notifications.run();
  });
  afterEach(async () => {
    await dispatcher?.stop();
    dispatcher = undefined;
  });
  after(async () => {
    for (const id of endpoints) await call(api.url, 'DELETE', `/api/v1/webhook-endpoints/${id}`, { token: admin() });
    notifications.shutdown();
    await running;
    await receiver.close();
  });

  async function endpointFor(events: string[]) {
    const url = receiver.endpointUrl();
    const endpoint = await registerEndpoint(api.url, url, events);
    endpoints.push(endpoint.id);
    return { ...endpoint, url };
  }

  /** Every attempt at one event's delivery to one endpoint, once one was answered 200. */
  const delivered = (eventId: string, url: string) =>
    waitFor(`event ${eventId} delivered`, async () => {
      const attempts = receiver.about(eventId, url);
      return attempts.some((w) => w.answered === 200) ? attempts : undefined;
    }, 60_000);

  describe('a payment that succeeds', () => {
    let proxy: StripeProxy;
    beforeEach(async () => {
      proxy = await startStripeProxy();
    });
    afterEach(async () => {
      await proxy.close();
    });

    it('delivers payment.succeeded once the receiver recovers from a 500, every attempt under the same webhook-id and signed with the secret', async () => {
      const endpoint = await endpointFor(['payment.succeeded']);
      const client = await temporalClient();
      dispatcher = dispatcherFor(client);
      const seen = new Set<string>();
      receiver.answer = (w) => {
        if (w.event.type !== 'payment.succeeded' || seen.has(w.path + w.event.id)) return 200;
        seen.add(w.path + w.event.id);
        return 500;
      };
      const { payment, run } = (await createPayment(api.url)).body;
      const payments = await paymentsWorkerVia(proxy);
      await payments.runUntil(async () => {
        await postWebhook(api.url, stripeEvent('payment_intent.succeeded', payment.id));
        await client.workflow.getHandle(run.workflowId).result();
      });

      const [first] = await waitFor('payment.succeeded to arrive', async () => {
        const got = receiver.matching('payment.succeeded', payment.id).filter((w) => endpoint.url.endsWith(w.path));
        return got.length ? got : undefined;
      });
      const attempts = await delivered(first.event.id, endpoint.url);
      expect(attempts.map((w) => w.answered)).to.deep.equal([500, 200]);
      expect(new Set(attempts.map((w) => w.headers['webhook-id']))).to.deep.equal(new Set([first.event.id]));
      const verifier = new Webhook(endpoint.secret);
      for (const attempt of attempts) {
        expect(verifier.verify(attempt.body, headersOf(attempt))).to.deep.include({ id: first.event.id, type: 'payment.succeeded' });
      }
      expect(first.event.data.payment).to.include({ id: payment.id, status: 'succeeded' });
      expect(first.event.data).to.not.have.property('run');

      const list = await call(api.url, 'GET', `/api/v1/webhook-endpoints/${endpoint.id}/deliveries`, { token: admin() });
      expect(list.status).to.equal(200);
      const delivery = await waitFor('the delivery settled', async () => {
        const fresh = await call(api.url, 'GET', `/api/v1/webhook-endpoints/${endpoint.id}/deliveries`, { token: admin() });
        const found = (fresh.body.items as Array<Record<string, any>>).find((d) => d.eventId === first.event.id);
        return found?.status === 'succeeded' ? found : undefined;
      });
      expect(delivery.attempts.map((a: { statusCode: number }) => a.statusCode)).to.deep.equal([500, 200]);
      expect(delivery.type).to.equal('payment.succeeded');
    });
  });

  it('signs with the new and the old secret during a rotation', async () => {
    const endpoint = await endpointFor(['payment.succeeded']);
    const rotated = await call(api.url, 'POST', `/api/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { token: admin(), body: {} });
    expect(rotated.status).to.equal(200);
    const newSecret = rotated.body.endpoint.secret as string;
    expect(newSecret).to.match(/^whsec_/).and.not.equal(endpoint.secret);
    receiver.answer = () => 200;
    const eventId = await recordOutboxEvent(shared().db, 'payment.succeeded', { payment: { id: 'rotation-test' } });
    dispatcher = dispatcherFor(await temporalClient());
    const [webhook] = await delivered(eventId, endpoint.url);
    expect(String(webhook.headers['webhook-signature']).split(' ')).to.have.length(2);
    expect(new Webhook(newSecret).verify(webhook.body, headersOf(webhook))).to.include({ id: eventId });
    expect(new Webhook(endpoint.secret).verify(webhook.body, headersOf(webhook))).to.include({ id: eventId });
  });

  it('never delivers an event whose transaction rolled back; delivers one committed while no dispatcher ran', async () => {
    const endpoint = await endpointFor(['payment.failed']);
    receiver.answer = () => 200;
    let rolledBack = '';
    await shared()
      .db.transaction(async (trx) => {
        rolledBack = await recordOutboxEvent(trx, 'payment.failed', { payment: { id: 'rolled-back' } });
        throw new Error('the state change failed');
      })
      .catch(() => undefined);
    // Committed while nothing dispatches (as if the worker had just crashed): the next dispatcher sends it.
    const committed = await recordOutboxEvent(shared().db, 'payment.failed', { payment: { id: 'committed' } });
    dispatcher = dispatcherFor(await temporalClient());
    await delivered(committed, endpoint.url);
    await dispatcher.stop();
    dispatcher = undefined;
    expect(receiver.about(rolledBack)).to.have.length(0);
    expect(await shared().db('outbox_events').where({ id: rolledBack })).to.have.length(0);
  });

  it('a failed delivery is retried by hand under the same workflow ID with the same webhook-id; a pending one is 409', async () => {
    const endpoint = await endpointFor(['refund.failed']);
    let up = false;
    receiver.answer = () => (up ? 200 : 503);
    const eventId = await recordOutboxEvent(shared().db, 'refund.failed', { refund: { id: 'manual-retry' } });
    dispatcher = dispatcherFor(await temporalClient(), []);
    const deliveryOf = async () =>
      ((await call(api.url, 'GET', `/api/v1/webhook-endpoints/${endpoint.id}/deliveries`, { token: admin() })).body.items as Array<Record<string, any>>).find(
        (d) => d.eventId === eventId,
      );
    const failed = await waitFor('the delivery to fail', async () => ((await deliveryOf())?.status === 'failed' ? await deliveryOf() : undefined));
    expect(failed?.attempts).to.have.length(1);
    up = true;
    const retryPath = `/api/v1/webhook-endpoints/${endpoint.id}/deliveries/${failed?.id}/retry`;
    const retried = await call(api.url, 'POST', retryPath, { token: admin(), body: {} });
    expect(retried.status, JSON.stringify(retried.body)).to.equal(202);
    expect(retried.body.delivery.status).to.equal('pending');
    expect(retried.body.run.workflowId).to.equal(`webhook:${endpoint.id}:${eventId}`);
    expect((await call(api.url, 'POST', retryPath, { token: admin(), body: {} })).status).to.equal(409);
    const attempts = await delivered(eventId, endpoint.url);
    expect(attempts.map((w) => w.answered)).to.deep.equal([503, 200]);
    expect(attempts.map((w) => w.headers['webhook-id'])).to.deep.equal([eventId, eventId]);
  });

  it('a retried activity reports its state change and run.failed once (the run id is the event id)', async () => {
    const session = await call(api.url, 'POST', '/api/v1/assets/upload-sessions', {
      token: tokenFor('instructor'),
      body: { filename: 'notes.csv', contentType: 'text/csv', sizeBytes: 10 },
    });
    expect(session.status, JSON.stringify(session.body)).to.equal(201);
    const assetId = session.body.asset.id as string;
    const runId = randomUUID();
    const failedRun = { workflowId: `asset-conversion:${assetId}`, runId, type: 'assetConversion', failure: 'processing failed after retries: s3 down' };
    for (let attempt = 0; attempt < 2; attempt += 1) await failIngestion(shared().db, assetId, failedRun.failure, failedRun);
    const events = (await shared().db('outbox_events').whereRaw("data->'asset'->>'id' = ? or id = ?", [assetId, runId])) as Array<{ id: string; type: string; data: any }>;
    expect(events.map((e) => e.type).sort()).to.deep.equal(['asset.failed', 'run.failed']);
    const runFailed = events.find((e) => e.type === 'run.failed');
    expect(runFailed?.id).to.equal(runId);
    expect(runFailed?.data.run).to.include({ workflowId: failedRun.workflowId, runId, status: 'Failed' });
  });

  it('endpoints: admin only, unknown events and disallowed URLs refused, audited, secret never shown again', async () => {
    const learner = tokenFor('learner');
    expect((await call(api.url, 'GET', '/api/v1/webhook-endpoints', { token: learner })).status).to.equal(403);
    const bad = await call(api.url, 'POST', '/api/v1/webhook-endpoints', { token: admin(), body: { url: receiver.url, events: ['payment.*'] } });
    expect(bad.status).to.equal(400);
    const http = await call(api.url, 'POST', '/api/v1/webhook-endpoints', { token: admin(), body: { url: 'http://example.com/hook', events: ['asset.ready'] } });
    expect(http.status).to.equal(422);
    expect(http.body.code).to.equal('WEBHOOK_URL_NOT_ALLOWED');
    const creds = await call(api.url, 'POST', '/api/v1/webhook-endpoints', { token: admin(), body: { url: 'https://u:p@example.com/hook', events: ['asset.ready'] } });
    expect(creds.status).to.equal(422);

    const endpoint = await endpointFor(['asset.ready']);
    const got = await call(api.url, 'GET', `/api/v1/webhook-endpoints/${endpoint.id}`, { token: admin() });
    expect(got.body.endpoint).to.not.have.property('secret');
    const patched = await call(api.url, 'PATCH', `/api/v1/webhook-endpoints/${endpoint.id}`, { token: admin(), body: { events: ['asset.ready', 'asset.failed'], active: false } });
    expect(patched.status).to.equal(200);
    expect(patched.body.endpoint).to.include({ active: false });
    const stored = await shared().db('webhook_endpoints').where({ id: endpoint.id }).first();
    expect(JSON.stringify(stored)).to.not.contain(endpoint.secret.slice(6));
    const audit = await shared().db('audit_events').where({ target: `webhook_endpoint:${endpoint.id}` }).orderBy('id');
    expect(audit.map((a: { action: string }) => a.action)).to.deep.equal(['webhook_endpoint.create', 'webhook_endpoint.update']);
    expect(JSON.stringify(audit)).to.not.contain(endpoint.secret.slice(6));
  });
});
