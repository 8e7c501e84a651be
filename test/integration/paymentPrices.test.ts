// Server prices, coupon reservations and the client secret of POST /payments (SPEC §4.2, issue #15),
// against stripe-mock through the fault proxy, with outcomes from signed webhooks.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Coupon, Payment } from '../../db/models/Payment';
import { DEMO_PRICES } from '../../db/seeds/03_payment_prices';
import { call, tokenFor } from '../support/http';
import { waitFor } from '../support/wait';
import { finance, paymentsWorkerVia, postWebhook, startStripeProxy, stripeEvent } from '../support/payments';
import { shared, startApi, temporalClient, type TestApi } from '../support/shared';
import type { StripeProxy } from '../support/stripeProxy';

describe('payment prices, coupons and client confirmation (SPEC §4.2)', () => {
  let api: TestApi;
  let proxy: StripeProxy;
  let priceId: string;

  before(async () => {
    // Learners are taxed in the default region, whatever region their request names.
    api = await startApi({ RATE_LIMIT_BURST: 10000, PAYMENTS_DEFAULT_TAX_REGION: 'GB' });
    const price = await call(api.url, 'POST', '/api/v1/payments/prices', {
      token: finance(),
      body: { description: 'Course: Testing', amountCents: 10000, currency: 'usd', reason: 'new course' },
    });
    expect(price.status, JSON.stringify(price.body)).to.equal(201);
    priceId = price.body.price.id;
  });
  beforeEach(async () => {
    proxy = await startStripeProxy();
  });
  afterEach(async () => {
    await proxy.close();
  });
  // Runs left waiting for Stripe would otherwise create their intents in a later file's worker and proxy.
  const started: string[] = [];
  after(async () => {
    const client = await temporalClient();
    await Promise.all(started.map((id) => client.workflow.getHandle(id).terminate('test over').catch(() => undefined)));
  });

  const learner = () => {
    const sub = `learner-${randomUUID()}`;
    return { sub, token: tokenFor('learner', sub) };
  };
  const pay = async (token: string, body: Record<string, unknown>, key = randomUUID()) => {
    const res = await call(api.url, 'POST', '/api/v1/payments', { token, headers: { 'Idempotency-Key': key }, body: { captureMethod: 'automatic', ...body } });
    if (res.status === 202) started.push(res.body.run.workflowId as string);
    return res;
  };
  const paymentRow = async (id: string) => (await Payment.query(shared().db).findById(id)) as Payment;
  const couponRow = async (code: string) => (await Coupon.query(shared().db).findById(code)) as Coupon;
  const resultOf = async (workflowId: string) => (await temporalClient()).workflow.getHandle(workflowId).result();
  const withWorker = async <T>(work: () => Promise<T>): Promise<T> => (await paymentsWorkerVia(proxy)).runUntil(work);

  describe('prices', () => {
    it('lists the seeded prices to any signed-in role; finance changes them, audited with the reason', async () => {
      await shared().db.seed.run({ specific: '03_payment_prices.ts' });
      const list = await call(api.url, 'GET', '/api/v1/payments/prices?limit=200', { token: tokenFor('learner') });
      expect(list.status, JSON.stringify(list.body)).to.equal(200);
      const ids = (list.body.items as Array<{ id: string }>).map((p) => p.id);
      expect(ids).to.include.members([...DEMO_PRICES.map((p) => p.id), priceId]);
      const paged: string[] = [];
      for (let cursor: string | null = null, pages = 0; pages === 0 || cursor; pages += 1) {
        const res = await call(api.url, 'GET', `/api/v1/payments/prices?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: tokenFor('learner') });
        paged.push(...(res.body.items as Array<{ id: string }>).map((p) => p.id));
        cursor = res.body.nextCursor as string | null;
      }
      expect(paged).to.deep.equal(ids);
      const forged = Buffer.from(JSON.stringify({ id: 'nope' })).toString('base64url');
      const bad = await call(api.url, 'GET', `/api/v1/payments/prices?cursor=${forged}`, { token: tokenFor('learner') });
      expect([bad.status, bad.body.code]).to.deep.equal([400, 'INVALID_CURSOR']);

      const refused = await call(api.url, 'POST', '/api/v1/payments/prices', {
        token: tokenFor('learner'),
        body: { description: 'free', amountCents: 100, currency: 'usd' },
      });
      expect(refused.status).to.equal(403);

      const made = await call(api.url, 'POST', '/api/v1/payments/prices', { token: finance(), body: { description: 'Old course', amountCents: 900, currency: 'eur' } });
      const id = made.body.price.id as string;
      const retired = await call(api.url, 'PATCH', `/api/v1/payments/prices/${id}`, { token: finance(), body: { active: false, reason: 'course retired' } });
      expect(retired.status, JSON.stringify(retired.body)).to.equal(200);
      expect(retired.body.price).to.include({ active: false, amountCents: 900 });
      const audit = await shared().db('audit_events').where({ target: `price:${id}` }).orderBy('id');
      expect(audit.map((a: { action: string; outcome: string }) => `${a.action}:${a.outcome}`)).to.deep.equal(['price.create:succeeded', 'price.update:succeeded']);
      expect(audit[1]).to.deep.include({ reason: 'course retired' });
      expect(audit[1].before).to.include({ active: true });
      expect(audit[1].after).to.include({ active: false });

      const after = await call(api.url, 'GET', '/api/v1/payments/prices?limit=200', { token: tokenFor('learner') });
      expect((after.body.items as Array<{ id: string }>).map((p) => p.id)).to.not.include(id);
      const { sub, token } = learner();
      const inactive = await pay(token, { customerId: sub, priceId: id });
      expect([inactive.status, inactive.body.code]).to.deep.equal([422, 'PRICE_NOT_FOUND']);
      const unknown = await pay(token, { customerId: sub, priceId: randomUUID() });
      expect([unknown.status, unknown.body.code]).to.deep.equal([422, 'PRICE_NOT_FOUND']);
    });

    it("refuses a learner's own amount (422 PRICE_REQUIRED), and a price with an amount (400)", async () => {
      const { sub, token } = learner();
      const amount = await pay(token, { customerId: sub, amountCents: 100, currency: 'usd' });
      expect([amount.status, amount.body.code]).to.deep.equal([422, 'PRICE_REQUIRED']);
      const both = await pay(token, { customerId: sub, priceId, amountCents: 100 });
      expect([both.status, both.body.code]).to.deep.equal([422, 'PRICE_REQUIRED']);
      const neither = await pay(token, { customerId: sub });
      expect([neither.status, neither.body.code]).to.deep.equal([422, 'PRICE_REQUIRED']);
      const staffBoth = await pay(finance(), { customerId: sub, priceId, amountCents: 100, currency: 'usd' });
      expect([staffBoth.status, staffBoth.body.code]).to.deep.equal([400, 'PRICE_AND_AMOUNT']);
      expect(await Payment.query(shared().db).where({ customerId: sub })).to.have.length(0);
    });
  });

  describe('client confirmation', () => {
    it('a learner pays a listed price and gets the client secret in the answer; a repeat answers the same', async () => {
      // A loaded test machine may take a while to start the worker: the wait, not the flow, is configured longer here.
      const patientApi = await startApi({ RATE_LIMIT_BURST: 10000, PAYMENTS_DEFAULT_TAX_REGION: 'GB', PAYMENTS_CLIENT_SECRET_WAIT_MS: 20000 });
      const { sub, token } = learner();
      const key = randomUUID();
      const payPatiently = () =>
        call(patientApi.url, 'POST', '/api/v1/payments', {
          token,
          headers: { 'Idempotency-Key': key },
          body: { customerId: sub, priceId, taxRegion: 'US', captureMethod: 'automatic' },
        });
      const { first, again, payerView, staffView } = await withWorker(async () => {
        const first = await payPatiently();
        const again = await payPatiently();
        const payerView = await call(api.url, 'GET', `/api/v1/payments/${first.body.payment?.id}`, { token });
        const staffView = await call(api.url, 'GET', `/api/v1/payments/${first.body.payment?.id}`, { token: finance() });
        return { first, again, payerView, staffView };
      });
      expect(first.status, JSON.stringify(first.body)).to.equal(202);
      expect(first.body.clientSecret).to.be.a('string').and.match(/_secret_/);
      expect(first.body.publishableKey).to.equal('pk_test_edulure_local');
      expect(first.body.run).to.include({ workflowId: `payment:${first.body.payment.id}`, status: 'Running' });
      // The price's amount, taxed in the default region (GB, 20 %), not the region the learner named.
      expect(first.body.payment).to.include({ priceId, amountCents: 10000, currency: 'usd', taxCents: 2000, totalCents: 12000 });
      expect(again.body.payment.id).to.equal(first.body.payment.id);
      expect(again.body.clientSecret).to.equal(first.body.clientSecret);
      expect(again.body.run.runId).to.equal(first.body.run.runId);
      expect(payerView.body.clientSecret).to.equal(first.body.clientSecret);
      expect(staffView.body.clientSecret).to.equal(null);
      // One intent for this payment (the worker may also pick up runs earlier tests left waiting).
      const creates = proxy.matching('POST', /^\/v1\/payment_intents$/).filter((r) => r.idempotencyKey === `${first.body.run.workflowId}:create-intent`);
      expect(creates).to.have.length(1);
    });

    it('answers clientSecret null when no worker answers in PAYMENTS_CLIENT_SECRET_WAIT_MS; the payer reads it later', async () => {
      const slowApi = await startApi({ RATE_LIMIT_BURST: 10000, PAYMENTS_CLIENT_SECRET_WAIT_MS: 500 });
      const { sub, token } = learner();
      const created = await call(slowApi.url, 'POST', '/api/v1/payments', {
        token,
        headers: { 'Idempotency-Key': randomUUID() },
        body: { customerId: sub, priceId, captureMethod: 'automatic' },
      });
      expect(created.status, JSON.stringify(created.body)).to.equal(202);
      expect(created.body.clientSecret).to.equal(null);
      expect(created.body.run).to.include({ status: 'Running' });
      started.push(created.body.run.workflowId as string);
      const id = created.body.payment.id as string;
      const secret = await withWorker(() =>
        waitFor('the client secret', async () => {
          const view = await call(slowApi.url, 'GET', `/api/v1/payments/${id}`, { token });
          return (view.body.clientSecret as string | null) ?? undefined;
        }),
      );
      expect(secret).to.match(/_secret_/);
    });

    it('confirms server-side with a paymentMethodId; the signed success webhook → succeeded', async () => {
      const { sub, token } = learner();
      const { created, result } = await withWorker(async () => {
        const created = await pay(token, { customerId: sub, priceId, paymentMethodId: 'pm_card_visa' });
        expect(created.status, JSON.stringify(created.body)).to.equal(202);
        await waitFor('the server-side confirmation', async () => (proxy.matching('POST', /\/confirm$/).length > 0 ? true : undefined));
        await postWebhook(api.url, stripeEvent('payment_intent.succeeded', created.body.payment.id));
        return { created, result: await resultOf(created.body.run.workflowId) };
      });
      expect(result.status).to.equal('succeeded');
      expect((await paymentRow(created.body.payment.id)).status).to.equal('succeeded');
      const confirms = proxy.matching('POST', /^\/v1\/payment_intents\/[^/]+\/confirm$/);
      expect(confirms).to.have.length(1);
      expect(confirms[0].idempotencyKey).to.equal(`${created.body.run.workflowId}:confirm`);
    });
  });

  describe('coupons', () => {
    async function oneUseCoupon(): Promise<string> {
      const code = `ONCE-${randomUUID().slice(0, 8).toUpperCase()}`;
      const made = await call(api.url, 'POST', '/api/v1/payments/coupons', { token: finance(), body: { code, percentOff: 10, maxRedemptions: 1 } });
      expect(made.status).to.equal(201);
      return code;
    }

    it('a coupon with one use left survives a canceled payment, and is redeemed by the one that succeeds', async () => {
      const code = await oneUseCoupon();
      const a = learner();
      const held = await pay(a.token, { customerId: a.sub, priceId, couponCode: code, captureMethod: 'manual' });
      expect(held.status, JSON.stringify(held.body)).to.equal(202);
      expect(held.body.payment).to.include({ discountCents: 1000 });
      expect(await couponRow(code)).to.include({ timesReserved: 1, timesRedeemed: 0 });

      const b = learner();
      const exhausted = await pay(b.token, { customerId: b.sub, priceId, couponCode: code });
      expect([exhausted.status, exhausted.body.code]).to.deep.equal([422, 'COUPON_EXHAUSTED']);

      await withWorker(async () => {
        const cancel = await call(api.url, 'POST', `/api/v1/payments/${held.body.payment.id}/cancel`, { token: finance(), body: { reason: 'changed mind' } });
        expect(cancel.status, JSON.stringify(cancel.body)).to.equal(202);
        return resultOf(held.body.run.workflowId);
      });
      expect((await paymentRow(held.body.payment.id)).couponState).to.equal('released');
      expect(await couponRow(code)).to.include({ timesReserved: 0, timesRedeemed: 0 });

      const paid = await withWorker(async () => {
        const retry = await pay(b.token, { customerId: b.sub, priceId, couponCode: code });
        expect(retry.status, JSON.stringify(retry.body)).to.equal(202);
        await postWebhook(api.url, stripeEvent('payment_intent.succeeded', retry.body.payment.id));
        await resultOf(retry.body.run.workflowId);
        return retry.body.payment.id as string;
      });
      expect((await paymentRow(paid)).couponState).to.equal('redeemed');
      expect(await couponRow(code)).to.include({ timesReserved: 0, timesRedeemed: 1 });
      const read = await call(api.url, 'GET', `/api/v1/payments/coupons/${code}`, { token: finance() });
      expect(read.body.coupon).to.include({ timesRedeemed: 1, timesReserved: 0 });
    });

    it('two concurrent payments cannot both take the last use', async () => {
      const code = await oneUseCoupon();
      const payers = Array.from({ length: 6 }, () => learner());
      const answers = await Promise.all(payers.map((p) => pay(p.token, { customerId: p.sub, priceId, couponCode: code })));
      const statuses = answers.map((r) => (r.status === 202 ? 202 : `${r.status}:${String(r.body.code)}`)).sort();
      expect(statuses).to.deep.equal([202, '422:COUPON_EXHAUSTED', '422:COUPON_EXHAUSTED', '422:COUPON_EXHAUSTED', '422:COUPON_EXHAUSTED', '422:COUPON_EXHAUSTED']);
      expect(await couponRow(code)).to.include({ timesReserved: 1, timesRedeemed: 0 });
    });
  });
});
