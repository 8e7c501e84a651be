import { expect } from 'chai';
import { randomInt, randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { mintToken } from '../../api/middleware/auth';
import { LedgerEntry, Payment, Refund } from '../../db/models/Payment';
import { BILLING_RECONCILIATION_WORKFLOW } from '../../workflows/billingReconciliation.contract';
import { PAYMENTS_TASK_QUEUE } from '../../workflows/paymentCapture.contract';
import { call, tokenFor } from '../support/http';
import { waitFor } from '../support/wait';
import { createPayment, finance, ledgerImbalance, paymentsWorkerVia, postWebhook, startStripeProxy, stripeEvent, paymentRow } from '../support/payments';
import { createWorker, shared, startApi, temporalClient, type TestApi } from '../support/shared';
import { cardDeclined, stripeOutage, type StripeProxy } from '../support/stripeProxy';

describe('payments (SPEC §4.2)', () => {
  let api: TestApi;
  let proxy: StripeProxy;

  before(async () => {
    api = await startApi({ RATE_LIMIT_BURST: 10000 });
  });
  beforeEach(async () => {
    proxy = await startStripeProxy();
  });
  afterEach(async () => {
    await proxy.close();
  });

  const resultOf = async (workflowId: string) => (await temporalClient()).workflow.getHandle(workflowId).result();

  /** Runs a fresh worker (Stripe through the proxy) until `work` is done. */
  async function withWorker<T>(work: () => Promise<T>): Promise<T> {
    const worker = await paymentsWorkerVia(proxy);
    return worker.runUntil(work);
  }

  /** Polls the payment row until it reaches `status` (the worker acts on webhooks asynchronously). */
  const untilStatus = (id: string, status: string) =>
    waitFor(`payment ${id} to reach ${status}`, async () => ((await paymentRow(id)).status === status ? true : undefined));

  describe('capture through signed webhooks', () => {
    it('automatic: pending → succeeded, with balanced ledger postings and one intent', async () => {
      const created = await createPayment(api.url, { amountCents: 12000, taxRegion: 'GB' });
      expect(created.status, JSON.stringify(created.body)).to.equal(202);
      const { payment, run } = created.body;
      expect(run.workflowId).to.equal(`payment:${payment.id}`);
      expect(payment).to.include({ status: 'pending', amountCents: 12000, taxCents: 2400, totalCents: 14400 });

      const result = await withWorker(async () => {
        await postWebhook(api.url, stripeEvent('payment_intent.succeeded', payment.id));
        return resultOf(run.workflowId);
      });
      expect(result.status).to.equal('succeeded');
      const view = await call(api.url, 'GET', `/api/v1/payments/${payment.id}`, { token: finance() });
      expect(view.body.payment.status).to.equal('succeeded');
      expect(view.body.payment.stripePaymentIntentId).to.match(/^pi_/);
      expect(view.body.run.status).to.equal('Completed');
      expect(await ledgerImbalance(payment.id)).to.equal(0);
      const postings = await LedgerEntry.query(shared().db).where({ paymentId: payment.id });
      expect(postings.map((p) => `${p.direction}:${p.account}:${p.amountCents}`).sort()).to.deep.equal([
        'credit:revenue:12000',
        'credit:tax_payable:2400',
        'debit:stripe_balance:14400',
      ]);
      expect(proxy.matching('POST', /^\/v1\/payment_intents$/)).to.have.length(1);
    });

    it('manual: requires_capture → capture → succeeded; a second capture is 409', async () => {
      const { payment, run } = (await createPayment(api.url, { captureMethod: 'manual' })).body;
      await withWorker(async () => {
        await postWebhook(api.url, stripeEvent('payment_intent.amount_capturable_updated', payment.id));
        await untilStatus(payment.id, 'requires_capture');
        // Stripe may report the authorization again (a new event id): the payment stays capturable.
        await postWebhook(api.url, stripeEvent('payment_intent.amount_capturable_updated', payment.id));
        const capture = await call(api.url, 'POST', `/api/v1/payments/${payment.id}/capture`, { token: finance(), body: {} });
        expect(capture.status, JSON.stringify(capture.body)).to.equal(202);
        const again = await call(api.url, 'POST', `/api/v1/payments/${payment.id}/capture`, { token: finance(), body: {} });
        expect(again.status).to.equal(409);
        expect(again.body.code).to.equal('PAYMENT_NOT_CAPTURABLE');
        await postWebhook(api.url, stripeEvent('payment_intent.succeeded', payment.id));
        return resultOf(run.workflowId);
      });
      expect((await paymentRow(payment.id)).status).to.equal('succeeded');
      const captures = proxy.matching('POST', /^\/v1\/payment_intents\/[^/]+\/capture$/);
      expect(captures).to.have.length(1);
      expect(captures[0].idempotencyKey).to.equal(`${run.workflowId}:capture`);
      const audit = await shared().db('audit_events').where({ action: 'payment.capture', target: `payment:${payment.id}` }).orderBy('id');
      expect(audit.map((r) => r.outcome), 'the refused second capture is recorded failed').to.deep.equal(['succeeded', 'failed']);
      expect(audit[0].before).to.deep.equal({ status: 'requires_capture' });
    });

    it('cancel before authorization releases the intent and ends canceled', async () => {
      const { payment, run } = (await createPayment(api.url, { captureMethod: 'manual' })).body;
      const result = await withWorker(async () => {
        const cancel = await call(api.url, 'POST', `/api/v1/payments/${payment.id}/cancel`, { token: finance(), body: { reason: 'customer changed their mind' } });
        expect(cancel.status, JSON.stringify(cancel.body)).to.equal(202);
        return resultOf(run.workflowId);
      });
      expect(result.status).to.equal('canceled');
      expect((await paymentRow(payment.id)).failureReason).to.equal('customer changed their mind');
      expect(proxy.matching('POST', /\/cancel$/)).to.have.length(1);
      const [audit] = await shared().db('audit_events').where({ action: 'payment.cancel', target: `payment:${payment.id}` });
      expect(audit).to.include({ reason: 'customer changed their mind', outcome: 'succeeded' });
      expect(audit.actorRoles).to.deep.equal(['finance']);
      const late = await call(api.url, 'POST', `/api/v1/payments/${payment.id}/capture`, { token: finance(), body: {} });
      expect(late.status).to.equal(409);
    });

    it('a declined authorization (webhook) ends failed with the decline code', async () => {
      const { payment, run } = (await createPayment(api.url)).body;
      const result = await withWorker(async () => {
        await postWebhook(
          api.url,
          stripeEvent('payment_intent.payment_failed', payment.id, { last_payment_error: { decline_code: 'insufficient_funds', message: 'no funds' } }),
        );
        return resultOf(run.workflowId);
      });
      expect(result).to.include({ status: 'failed', failureCode: 'insufficient_funds' });
      expect((await paymentRow(payment.id)).failureCode).to.equal('insufficient_funds');
      expect(proxy.matching('POST', /\/cancel$/), 'the declined intent cannot be charged later').to.have.length(1);
    });
  });

  describe('webhook endpoint', () => {
    it('refuses forged and stale signatures with 400 and changes nothing', async () => {
      const { payment } = (await createPayment(api.url)).body;
      const event = stripeEvent('payment_intent.succeeded', payment.id);
      const forged = await postWebhook(api.url, event, { secret: 'whsec_forged' });
      expect(forged.status).to.equal(400);
      expect(forged.body.code).to.equal('SIGNATURE_INVALID');
      const stale = await postWebhook(api.url, event, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
      expect(stale.status).to.equal(400);
      const unsigned = await call(api.url, 'POST', '/api/v1/webhooks/stripe', { body: event });
      expect(unsigned.body.code).to.equal('SIGNATURE_MISSING');
      expect(await shared().db('stripe_events').where({ id: event.id }).first()).to.equal(undefined);
      expect((await paymentRow(payment.id)).status).to.equal('pending');
    });

    it('stores each event once: a replay is acknowledged and changes nothing', async () => {
      const { payment, run } = (await createPayment(api.url)).body;
      const event = stripeEvent('payment_intent.succeeded', payment.id);
      await withWorker(async () => {
        const first = await postWebhook(api.url, event);
        expect(first.body).to.deep.equal({ received: true, duplicate: false });
        await resultOf(run.workflowId);
      });
      const replay = await postWebhook(api.url, event);
      expect(replay.status).to.equal(200);
      expect(replay.body).to.deep.equal({ received: true, duplicate: true });
      expect(await shared().db('stripe_events').where({ id: event.id })).to.have.length(1);
      // no tax region: one debit to the Stripe balance, one credit to revenue
      expect(await LedgerEntry.query(shared().db).where({ paymentId: payment.id })).to.have.length(2);
    });

    it('stores and acknowledges an event for an unknown payment', async () => {
      const event = stripeEvent('payment_intent.succeeded', randomUUID());
      const res = await postWebhook(api.url, event);
      expect(res.status).to.equal(200);
      expect(await shared().db('stripe_events').where({ id: event.id }).first()).to.include({ type: 'payment_intent.succeeded' });
    });
  });

  describe('creating payments', () => {
    it('requires an Idempotency-Key, and the same key returns the same payment and run', async () => {
      const body = { customerId: `cust-${randomUUID()}`, amountCents: 5000, currency: 'usd', captureMethod: 'automatic' };
      const missing = await call(api.url, 'POST', '/api/v1/payments', { token: finance(), body });
      expect(missing.status).to.equal(400);
      expect(missing.body.code).to.equal('IDEMPOTENCY_KEY_REQUIRED');
      const key = randomUUID();
      const [a, b] = await Promise.all([createPayment(api.url, body, key), createPayment(api.url, body, key)]);
      expect(a.status).to.equal(202);
      expect(b.body.payment.id).to.equal(a.body.payment.id);
      expect(b.body.run.runId).to.equal(a.body.run.runId);
      const reused = await createPayment(api.url, { ...body, amountCents: 6000 }, key);
      expect(reused.status).to.equal(409);
      expect(reused.body.code).to.equal('IDEMPOTENCY_KEY_REUSED');
      expect(await Payment.query(shared().db).where({ customerId: body.customerId })).to.have.length(1);
    });

    it('answers business refusals with 422 and stores nothing', async () => {
      const customerId = `cust-${randomUUID()}`;
      const jpy = await createPayment(api.url, { customerId, currency: 'jpy' });
      expect([jpy.status, jpy.body.code]).to.deep.equal([422, 'CURRENCY_NOT_ALLOWED']);
      const region = await createPayment(api.url, { customerId, taxRegion: 'JP' });
      expect([region.status, region.body.code]).to.deep.equal([422, 'TAX_REGION_UNKNOWN']);
      const coupon = await createPayment(api.url, { customerId, couponCode: 'NO-SUCH-COUPON' });
      expect([coupon.status, coupon.body.code]).to.deep.equal([422, 'COUPON_INVALID']);
      expect(await Payment.query(shared().db).where({ customerId })).to.have.length(0);
    });

    it('lets a learner pay only for themselves', async () => {
      const sub = `learner-${randomUUID()}`;
      // Learners pay a listed price, never an amount of their own (SPEC §4.2).
      const price = await call(api.url, 'POST', '/api/v1/payments/prices', { token: finance(), body: { description: 'Course', amountCents: 5000, currency: 'usd' } });
      const body = { customerId: 'someone-else', priceId: price.body.price.id, captureMethod: 'automatic' };
      const other = await call(api.url, 'POST', '/api/v1/payments', { token: tokenFor('learner', sub), headers: { 'Idempotency-Key': randomUUID() }, body });
      expect(other.status).to.equal(403);
      const own = await call(api.url, 'POST', '/api/v1/payments', {
        token: tokenFor('learner', sub),
        headers: { 'Idempotency-Key': randomUUID() },
        body: { ...body, customerId: sub },
      });
      expect(own.status).to.equal(202);
      expect((await call(api.url, 'GET', `/api/v1/payments/${own.body.payment.id}`, { token: tokenFor('learner', sub) })).status).to.equal(200);
      expect((await call(api.url, 'GET', `/api/v1/payments/${own.body.payment.id}`, { token: tokenFor('learner') })).status).to.equal(404);
      expect((await call(api.url, 'GET', `/api/v1/payments/${own.body.payment.id}`, { token: tokenFor('instructor') })).status).to.equal(403);
    });

    it('applies coupons (capped) and inclusive or exclusive tax', async () => {
      const code = `SPRING-${randomUUID().slice(0, 8).toUpperCase()}`;
      const tooBig = await call(api.url, 'POST', '/api/v1/payments/coupons', { token: finance(), body: { code, percentOff: 80 } });
      expect([tooBig.status, tooBig.body.code]).to.deep.equal([422, 'COUPON_EXCEEDS_MAX']);
      const made = await call(api.url, 'POST', '/api/v1/payments/coupons', { token: finance(), body: { code, percentOff: 25, maxRedemptions: 1 } });
      expect(made.status).to.equal(201);
      expect((await call(api.url, 'POST', '/api/v1/payments/coupons', { token: finance(), body: { code, percentOff: 10 } })).status).to.equal(409);

      const exclusive = await createPayment(api.url, { amountCents: 10000, currency: 'eur', couponCode: code, taxRegion: 'DE' });
      expect(exclusive.body.payment).to.include({ discountCents: 2500, taxCents: 1425, totalCents: 8925 });
      const read = await call(api.url, 'GET', `/api/v1/payments/coupons/${code}`, { token: finance() });
      // The use is reserved while the payment is open, and counts as redeemed only once it succeeds (SPEC §4.2).
      expect(read.body.coupon).to.include({ percentOff: 25, timesRedeemed: 0, timesReserved: 1 });
      const usedUp = await createPayment(api.url, { couponCode: code });
      expect(usedUp.body.code).to.equal('COUPON_EXHAUSTED');

      const inclusiveApi = await startApi({ PAYMENTS_TAX_INCLUSIVE: true });
      const inclusive = await createPayment(inclusiveApi.url, { amountCents: 12000, currency: 'gbp', taxRegion: 'GB' });
      expect(inclusive.body.payment).to.include({ discountCents: 0, taxCents: 2000, totalCents: 12000 });
    });
  });

  describe('refunds', () => {
    async function succeededPayment(amountCents = 10000) {
      const { payment, run } = (await createPayment(api.url, { amountCents })).body;
      await withWorker(async () => {
        await postWebhook(api.url, stripeEvent('payment_intent.succeeded', payment.id));
        await resultOf(run.workflowId);
      });
      return payment.id as string;
    }

    const refund = (paymentId: string, body: object, key = randomUUID()) =>
      call(api.url, 'POST', `/api/v1/payments/${paymentId}/refunds`, { token: finance(), headers: { 'Idempotency-Key': key }, body });

    it('partial then full; over the remainder is 422; the same key twice is one refund', async () => {
      const id = await succeededPayment(10000);
      const key = randomUUID();
      const partial = await refund(id, { amountCents: 3000 }, key);
      expect(partial.status, JSON.stringify(partial.body)).to.equal(202);
      const repeat = await refund(id, { amountCents: 3000 }, key);
      expect(repeat.body.refund.id).to.equal(partial.body.refund.id);
      expect(repeat.body.run.runId).to.equal(partial.body.run.runId);
      const reused = await refund(id, { amountCents: 2500 }, key);
      expect([reused.status, reused.body.code]).to.deep.equal([409, 'IDEMPOTENCY_KEY_REUSED']);
      const over = await refund(id, { amountCents: 7001 });
      expect([over.status, over.body.code]).to.deep.equal([422, 'REFUND_EXCEEDS_CAPTURED']);
      await withWorker(() => resultOf(partial.body.run.workflowId));
      expect((await paymentRow(id))).to.include({ status: 'partially_refunded' });
      expect(Number((await paymentRow(id)).amountRefundedCents)).to.equal(3000);

      const rest = await refund(id, {});
      expect(rest.body.refund.amountCents).to.equal(7000);
      await withWorker(() => resultOf(rest.body.run.workflowId));
      expect((await paymentRow(id)).status).to.equal('refunded');
      expect(await ledgerImbalance(id)).to.equal(0);
      const refunds = proxy.matching('POST', /^\/v1\/refunds$/);
      expect(refunds.map((r) => r.idempotencyKey)).to.deep.equal([
        `${partial.body.run.workflowId}:create-refund`,
        `${rest.body.run.workflowId}:create-refund`,
      ]);
      const none = await refund(id, { amountCents: 1 });
      expect(none.status).to.equal(409);
      // Each accepted request is recorded (the repeat with the same key too); refused ones never reach the run start.
      const audit = await shared().db('audit_events').where({ action: 'refund.create', target: `payment:${id}` }).orderBy('id');
      expect(audit.map((r) => [r.after.refundId, r.outcome])).to.deep.equal([
        [partial.body.refund.id, 'succeeded'],
        [partial.body.refund.id, 'succeeded'],
        [rest.body.refund.id, 'succeeded'],
      ]);
    });

    it('10 concurrent refunds of 20% each: exactly 5 accepted and refunded, 5 refused, the ledger balances', async () => {
      const id = await succeededPayment(10000);
      const answers = await Promise.all(Array.from({ length: 10 }, () => refund(id, { amountCents: 2000 })));
      const accepted = answers.filter((a) => a.status === 202);
      expect(answers.map((a) => a.status).sort()).to.deep.equal([...Array(5).fill(202), ...Array(5).fill(422)]);
      await withWorker(() => Promise.all(accepted.map((a) => resultOf(a.body.run.workflowId))));
      expect((await paymentRow(id)).status).to.equal('refunded');
      expect(await Refund.query(shared().db).where({ paymentId: id, status: 'succeeded' })).to.have.length(5);
      expect(await ledgerImbalance(id)).to.equal(0);
    });

    it('a refund Stripe refuses releases its reservation and completes with that outcome', async () => {
      const id = await succeededPayment(10000);
      proxy.inject({ method: 'POST', path: /^\/v1\/refunds$/, times: 1, respond: { status: 400, body: { error: { type: 'invalid_request_error', code: 'charge_already_refunded', message: 'Charge has already been refunded.' } } } });
      const refused = await refund(id, { amountCents: 4000 });
      const result = await withWorker(() => resultOf(refused.body.run.workflowId));
      expect(result.status).to.equal('failed');
      expect(await Refund.query(shared().db).findById(refused.body.refund.id)).to.include({ status: 'failed', reserved: false });
      const again = await refund(id, { amountCents: 10000 });
      expect(again.status, 'the whole amount is refundable again').to.equal(202);
    });
  });

  describe('provider failures through the fault-injecting proxy', () => {
    it('a card declined at capture ends failed with the decline code', async () => {
      const { payment, run } = (await createPayment(api.url, { captureMethod: 'manual' })).body;
      proxy.inject({ method: 'POST', path: /\/capture$/, times: 1, respond: cardDeclined('expired_card') });
      const result = await withWorker(async () => {
        await postWebhook(api.url, stripeEvent('payment_intent.amount_capturable_updated', payment.id));
        await untilStatus(payment.id, 'requires_capture');
        await call(api.url, 'POST', `/api/v1/payments/${payment.id}/capture`, { token: finance(), body: {} });
        return resultOf(run.workflowId);
      });
      expect(result).to.include({ status: 'failed', failureCode: 'expired_card' });
      expect(await paymentRow(payment.id)).to.include({ status: 'failed', failureCode: 'expired_card' });
      expect(proxy.matching('POST', /\/cancel$/), 'the authorization is released').to.have.length(1);
    });

    it('transient 500s and a timeout are retried with the same idempotency key, then succeed', async () => {
      proxy.inject({ method: 'POST', path: /^\/v1\/payment_intents$/, times: 2, respond: stripeOutage });
      proxy.inject({ method: 'POST', path: /^\/v1\/payment_intents$/, times: 1, delayMs: 1500 });
      const { payment, run } = (await createPayment(api.url)).body;
      const worker = await paymentsWorkerVia(proxy, 500);
      await worker.runUntil(async () => {
        await postWebhook(api.url, stripeEvent('payment_intent.succeeded', payment.id));
        return resultOf(run.workflowId);
      });
      const attempts = proxy.matching('POST', /^\/v1\/payment_intents$/);
      expect(attempts.length).to.equal(4);
      expect(new Set(attempts.map((a) => a.idempotencyKey))).to.deep.equal(new Set([`${run.workflowId}:create-intent`]));
      expect((await paymentRow(payment.id)).status).to.equal('succeeded');
    });

    it('exhausted retries mark the payment failed and fail the run; a reset replay then completes it', async () => {
      proxy.inject({ method: 'POST', path: /^\/v1\/payment_intents$/, times: Infinity, respond: stripeOutage });
      const { payment, run } = (await createPayment(api.url)).body;
      const outcome = await withWorker(() => resultOf(run.workflowId).catch((err: unknown) => err));
      expect(outcome).to.be.instanceOf(WorkflowFailedError);
      expect(await paymentRow(payment.id)).to.include({ status: 'failed', failureCode: 'processing_error' });
      const view = await call(api.url, 'GET', `/api/v1/payments/${payment.id}`, { token: finance() });
      expect(view.body.run.status).to.equal('Failed');

      // Stripe is back: support in finance resets the run (support alone may not: SPEC §3.1), and the payment goes through once.
      const replayAs = (token: string) =>
        call(api.url, 'POST', `/api/v1/runs/${encodeURIComponent(run.workflowId)}/replay`, { token, body: { mode: 'reset', reason: 'Stripe outage over' } });
      expect((await replayAs(tokenFor('support'))).status).to.equal(403);
      const replay = await replayAs(mintToken(shared().config, { sub: 'finance-support', roles: ['support', 'finance'], expiresInSeconds: 600 }));
      expect(replay.status, JSON.stringify(replay.body)).to.equal(202);
      const healthy = await startStripeProxy();
      try {
        const worker = await paymentsWorkerVia(healthy);
        const result = await worker.runUntil(async () => {
          await untilStatus(payment.id, 'pending');
          await postWebhook(api.url, stripeEvent('payment_intent.succeeded', payment.id));
          return (await temporalClient()).workflow.getHandle(run.workflowId, replay.body.run.runId).result();
        });
        expect(result.status).to.equal('succeeded');
        expect(healthy.matching('POST', /^\/v1\/payment_intents$/).map((r) => r.idempotencyKey)).to.deep.equal([`${run.workflowId}:create-intent`]);
      } finally {
        await healthy.close();
      }
      expect(await paymentRow(payment.id)).to.include({ status: 'succeeded', failureCode: null });
      expect(await ledgerImbalance(payment.id)).to.equal(0);
    });
  });

  it('reports per currency by local day in a non-UTC reporting time zone', async () => {
    const db = shared().db;
    // A currency of its own, emptied first: rows an earlier run left in a reused database do not count here.
    const letter = () => String.fromCharCode(97 + randomInt(26));
    const currency = `x${letter()}${letter()}`;
    await db('refunds').whereIn('paymentId', db('payments').select('id').where({ currency })).delete();
    await db('payments').where({ currency }).delete();
    // Far in the past so no other test's payments fall in the window; New York is UTC-5 in March before DST.
    const at = (iso: string, total: number, tax: number) => ({
      id: randomUUID(), customerId: `report-${randomUUID()}`, idempotencyKey: randomUUID(), requestHash: 'x',
      amountCents: total - tax, currency, taxCents: tax, discountCents: 0, totalCents: total,
      captureMethod: 'automatic', status: 'succeeded', capturedAt: new Date(iso),
    });
    const rows = [
      at('2020-03-01T04:59:00Z', 1000, 100), // 23:59 on 29 Feb in New York
      at('2020-03-01T05:00:00Z', 2000, 200), // 00:00 on 1 Mar in New York
      at('2020-03-02T04:30:00Z', 4000, 400), // 23:30 on 1 Mar in New York
    ];
    await db('payments').insert(rows);
    await db('refunds').insert({
      id: randomUUID(), paymentId: rows[1].id, idempotencyKey: 'r', amountCents: 500, status: 'succeeded', reserved: false,
      requestedBy: 'test', succeededAt: new Date('2020-03-01T23:00:00Z'),
    });
    const ny = await startApi({ PAYMENTS_REPORTING_TIMEZONE: 'America/New_York' });
    const march1 = await call(ny.url, 'GET', '/api/v1/payments/reports/summary?from=2020-03-01&to=2020-03-01', { token: finance() });
    expect(march1.status, JSON.stringify(march1.body)).to.equal(200);
    expect(march1.body.currencies[currency]).to.deep.equal({ gross: 5400, discount: 0, tax: 600, refunded: 500, disputed: 0, net: 4900 });
    const utc = await call(api.url, 'GET', '/api/v1/payments/reports/summary?from=2020-03-01&to=2020-03-01', { token: finance() });
    expect(utc.body.currencies[currency]).to.deep.equal({ gross: 2700, discount: 0, tax: 300, refunded: 500, disputed: 0, net: 2200 });
  });

  it('billing reconciliation records Stripe charges the ledger cannot account for, and ledger captures Stripe did not list', async () => {
    const { payment, run } = (await createPayment(api.url)).body;
    const client = await temporalClient();
    const worker = await createWorker(PAYMENTS_TASK_QUEUE);
    const result = await worker.runUntil(async () => {
      await postWebhook(api.url, stripeEvent('payment_intent.succeeded', payment.id));
      await resultOf(run.workflowId);
      return client.workflow.execute(BILLING_RECONCILIATION_WORKFLOW, { taskQueue: PAYMENTS_TASK_QUEUE, workflowId: `reconciliation-test-${randomUUID()}` });
    });
    expect(result.chargesSeen).to.be.greaterThan(0);
    const unknown = await call(api.url, 'GET', '/api/v1/payments/reconciliation/anomalies?kind=unknown_charge', { token: finance() });
    expect(unknown.status).to.equal(200);
    expect(unknown.body.items.length, 'stripe-mock lists a charge no payment accounts for').to.be.greaterThan(0);
    const missing = await call(api.url, 'GET', '/api/v1/payments/reconciliation/anomalies?kind=missing_charge&limit=200', { token: finance() });
    expect(missing.body.items.find((a: { reference: string }) => a.reference === payment.id)).to.include({ kind: 'missing_charge' });
    expect((await call(api.url, 'GET', '/api/v1/payments/reconciliation/anomalies', { token: tokenFor('support') })).status).to.equal(403);
    const forged = Buffer.from(JSON.stringify({ id: 'not-a-number' })).toString('base64url');
    const bad = await call(api.url, 'GET', `/api/v1/payments/reconciliation/anomalies?cursor=${forged}`, { token: finance() });
    expect([bad.status, bad.body.type], 'a forged cursor is bad input, not a server error').to.deep.equal([400, 'validation_error']);
  });
});
