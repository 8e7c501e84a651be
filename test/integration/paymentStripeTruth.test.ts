// Issue 15 (part B): Stripe's word about a payment after the fact. Refunds Stripe later
// reports failed and disputes arrive as signed webhooks; a cancel Stripe refuses because the
// intent succeeded, a refund created before Stripe's idempotency window ran out, and a record
// that disagrees with Stripe are shaped through the fault proxy in front of stripe-mock.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { mintToken } from '../../api/middleware/auth';
import { LedgerEntry, Payment, Refund } from '../../db/models/Payment';
import { BILLING_RECONCILIATION_WORKFLOW } from '../../workflows/billingReconciliation.contract';
import { PAYMENTS_TASK_QUEUE } from '../../workflows/paymentCapture.contract';
import { call } from '../support/http';
import { createPayment, finance, ledgerImbalance, paymentsWorkerVia, postWebhook, startStripeProxy, stripeEvent, paymentRow } from '../support/payments';
import { shared, startApi, temporalClient, type TestApi } from '../support/shared';
import type { StripeProxy } from '../support/stripeProxy';
import { waitFor } from '../support/wait';

const HOUR_MS = 3600_000;

describe('payments: what Stripe reports after the fact (SPEC §4.2)', () => {
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

  const resultOf = async (workflowId: string, runId?: string) => (await temporalClient()).workflow.getHandle(workflowId, runId).result();
  const view = async (id: string) => (await call(api.url, 'GET', `/api/v1/payments/${id}`, { token: finance() })).body.payment;
  const postings = async (paymentId: string) =>
    (await LedgerEntry.query(shared().db).where({ paymentId })).map((p) => `${p.direction}:${p.account}:${p.amountCents}`).sort();
  const refundVia = (paymentId: string, body: object) =>
    call(api.url, 'POST', `/api/v1/payments/${paymentId}/refunds`, { token: finance(), headers: { 'Idempotency-Key': randomUUID() }, body });

  async function withWorker<T>(work: () => Promise<T>, via = proxy, options: { timeoutMs?: number; now?: () => number } = {}): Promise<T> {
    const worker = await paymentsWorkerVia(via, options.timeoutMs, options.now);
    return worker.runUntil(work);
  }

  async function succeededPayment(amountCents: number): Promise<Payment> {
    const { payment, run } = (await createPayment(api.url, { amountCents })).body;
    await withWorker(async () => {
      await postWebhook(api.url, stripeEvent('payment_intent.succeeded', payment.id));
      await resultOf(run.workflowId);
    });
    return paymentRow(payment.id);
  }

  const unexpectedState = {
    status: 400,
    body: { error: { type: 'invalid_request_error', code: 'payment_intent_unexpected_state', message: 'This PaymentIntent could not be canceled because it has a status of succeeded.' } },
  };
  const intentReadBack = (id: string, status: string) => ({ status: 200, body: { id, object: 'payment_intent', status, amount: 5000, currency: 'usd', metadata: {} } });

  describe('refunds Stripe reports failed', () => {
    it('refund succeeded, then refund.failed → refund failed, amount given back, ledger reversed and balanced', async () => {
      const payment = await succeededPayment(10000);
      const accepted = await refundVia(payment.id, { amountCents: 4000 });
      expect(accepted.status, JSON.stringify(accepted.body)).to.equal(202);
      await withWorker(() => resultOf(accepted.body.run.workflowId));
      const refunded = (await Refund.query(shared().db).findById(accepted.body.refund.id)) as Refund;
      expect(refunded.status).to.equal('succeeded');
      expect(await paymentRow(payment.id)).to.include({ status: 'partially_refunded' });

      const failed = stripeEvent('refund.failed', payment.id, {
        id: refunded.stripeRefundId,
        object: 'refund',
        status: 'failed',
        failure_reason: 'expired_or_canceled_card',
        amount: 4000,
        payment_intent: payment.stripePaymentIntentId,
        metadata: { paymentId: payment.id, refundId: refunded.id },
      });
      expect((await postWebhook(api.url, failed)).body).to.deep.equal({ received: true, duplicate: false });
      // Stripe redelivers: nothing is given back twice.
      expect((await postWebhook(api.url, failed)).body).to.deep.equal({ received: true, duplicate: true });

      const shown = await view(payment.id);
      expect(shown).to.include({ status: 'succeeded', amountRefundedCents: 0 });
      expect(shown.refunds).to.have.length(1);
      expect(shown.refunds[0]).to.include({ id: refunded.id, amountCents: 4000, status: 'failed', stripeRefundId: refunded.stripeRefundId });
      expect(shown.disputes).to.deep.equal([]);
      expect(await postings(payment.id)).to.deep.equal([
        'credit:refunds:4000',
        'credit:revenue:10000',
        'credit:stripe_balance:4000',
        'debit:refunds:4000',
        'debit:stripe_balance:10000',
        'debit:stripe_balance:4000',
      ]);
      expect(await ledgerImbalance(payment.id)).to.equal(0);
      const again = await refundVia(payment.id, { amountCents: 10000 });
      expect(again.status, 'the whole amount is refundable again').to.equal(202);
    });
  });

  describe('disputes', () => {
    it('charge.dispute.created then closed (lost) → dispute shown, ledger balanced, summary report disputed and net', async () => {
      const payment = await succeededPayment(8000);
      const window = '/api/v1/payments/reports/summary?from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z';
      const before = (await call(api.url, 'GET', window, { token: finance() })).body.currencies.usd;
      const disputeId = `dp_${randomUUID().slice(0, 12)}`;
      const dispute = (status: string) => ({
        id: disputeId,
        object: 'dispute',
        amount: 8000,
        currency: 'usd',
        reason: 'fraudulent',
        status,
        charge: `ch_${randomUUID().slice(0, 12)}`,
        payment_intent: payment.stripePaymentIntentId,
        metadata: {},
      });
      await postWebhook(api.url, stripeEvent('charge.dispute.created', null, dispute('needs_response')));
      const open = await view(payment.id);
      expect(open.status, 'a dispute is shown beside the status').to.equal('succeeded');
      expect(open.disputes).to.have.length(1);
      expect(open.disputes[0]).to.include({ stripeDisputeId: disputeId, amountCents: 8000, reason: 'fraudulent', status: 'needs_response', outcome: null });

      await postWebhook(api.url, stripeEvent('charge.dispute.closed', null, dispute('lost')));
      // A late update after the close does not reopen it.
      await postWebhook(api.url, stripeEvent('charge.dispute.updated', null, dispute('under_review')));
      const closed = await view(payment.id);
      expect(closed.disputes[0]).to.include({ status: 'lost', outcome: 'lost' });
      expect(await postings(payment.id)).to.deep.equal([
        'credit:disputed_funds:8000',
        'credit:revenue:8000',
        'credit:stripe_balance:8000',
        'debit:dispute_losses:8000',
        'debit:disputed_funds:8000',
        'debit:stripe_balance:8000',
      ]);
      expect(await ledgerImbalance(payment.id)).to.equal(0);

      const after = (await call(api.url, 'GET', window, { token: finance() })).body.currencies.usd;
      expect(after.disputed - before.disputed).to.equal(8000);
      expect(after.net - before.net).to.equal(-8000);
      expect(after.gross).to.equal(before.gross);
    });
  });

  describe('reading the intent back before recording canceled or failed', () => {
    it('a cancel answered payment_intent_unexpected_state for an intent that succeeded → succeeded, capture posted', async () => {
      const { payment, run } = (await createPayment(api.url, { captureMethod: 'manual', amountCents: 5000 })).body;
      proxy.inject({ method: 'POST', path: /^\/v1\/payment_intents\/[^/]+\/cancel$/, times: 1, respond: unexpectedState });
      const result = await withWorker(async () => {
        await waitFor('the intent', async () => (await paymentRow(payment.id)).stripePaymentIntentId ?? undefined);
        const intentId = (await paymentRow(payment.id)).stripePaymentIntentId as string;
        proxy.inject({ method: 'GET', path: new RegExp(`^/v1/payment_intents/${intentId}(\\?|$)`), times: 1, respond: intentReadBack(intentId, 'succeeded') });
        const cancel = await call(api.url, 'POST', `/api/v1/payments/${payment.id}/cancel`, { token: finance(), body: { reason: 'customer asked' } });
        expect(cancel.status, JSON.stringify(cancel.body)).to.equal(202);
        return resultOf(run.workflowId);
      });
      expect(result).to.deep.equal({ paymentId: payment.id, status: 'succeeded' });
      expect(await paymentRow(payment.id)).to.include({ status: 'succeeded' });
      expect((await paymentRow(payment.id)).capturedAt).to.not.equal(null);
      expect(await postings(payment.id)).to.deep.equal(['credit:revenue:5000', 'debit:stripe_balance:5000']);
      expect(proxy.matching('GET', /^\/v1\/payment_intents\/pi_/), 'the intent was read back').to.have.length(1);
    });
  });

  describe("Stripe's 24-hour idempotency window", () => {
    it('a replay after the window finds the refund Stripe made and creates no second one', async () => {
      const payment = await succeededPayment(10000);
      // Stripe makes the refund, but its answer never arrives: the run fails after its retries, the refund unsaved.
      proxy.inject({ method: 'POST', path: /^\/v1\/refunds$/, times: Infinity, hold: true });
      const accepted = await refundVia(payment.id, { amountCents: 2500 });
      const { workflowId } = accepted.body.run;
      const failedRun = await withWorker(() => resultOf(workflowId).catch((err: unknown) => err), proxy, { timeoutMs: 500 });
      expect(failedRun).to.be.instanceOf(Error);
      const attempted = proxy.matching('POST', /^\/v1\/refunds$/);
      expect(attempted.length).to.be.greaterThan(0);
      expect(await Refund.query(shared().db).findById(accepted.body.refund.id)).to.include({ status: 'failed', reserved: true, stripeRefundId: null });

      // A day later (the worker's clock), finance replays the run.
      const replay = await call(api.url, 'POST', `/api/v1/runs/${encodeURIComponent(workflowId)}/replay`, {
        token: mintToken(shared().config, { sub: 'finance-ops', roles: ['operator', 'finance'], expiresInSeconds: 600 }),
        body: { mode: 'reset', reason: 'Stripe answered again' },
      });
      expect(replay.status, JSON.stringify(replay.body)).to.equal(202);
      const later = await startStripeProxy();
      const madeEarlier = `re_${randomUUID().slice(0, 12)}`;
      later.inject({
        method: 'GET',
        path: /^\/v1\/refunds\?/,
        times: 1,
        respond: {
          status: 200,
          body: {
            object: 'list',
            url: '/v1/refunds',
            has_more: false,
            data: [
              { id: `re_${randomUUID().slice(0, 12)}`, object: 'refund', amount: 100, currency: 'usd', status: 'succeeded', metadata: {} },
              { id: madeEarlier, object: 'refund', amount: 2500, currency: 'usd', status: 'succeeded', metadata: { paymentId: payment.id, refundId: accepted.body.refund.id } },
            ],
          },
        },
      });
      try {
        const result = await withWorker(() => resultOf(workflowId, replay.body.run.runId), later, { now: () => Date.now() + 25 * HOUR_MS });
        expect(result).to.include({ status: 'succeeded' });
        expect(later.matching('POST', /^\/v1\/refunds$/), 'no second refund').to.have.length(0);
        expect(later.matching('GET', /^\/v1\/refunds\?/)).to.have.length(1);
      } finally {
        await later.close();
      }
      expect(await Refund.query(shared().db).findById(accepted.body.refund.id)).to.include({ status: 'succeeded', stripeRefundId: madeEarlier });
      expect(await paymentRow(payment.id)).to.include({ status: 'partially_refunded' });
      expect(Number((await paymentRow(payment.id)).amountRefundedCents)).to.equal(2500);
      expect(await ledgerImbalance(payment.id)).to.equal(0);
    });

    it('within the window the refund is created at once, without a lookup', async () => {
      const payment = await succeededPayment(3000);
      const accepted = await refundVia(payment.id, { amountCents: 1000 });
      await withWorker(() => resultOf(accepted.body.run.workflowId));
      expect(proxy.matching('POST', /^\/v1\/refunds$/)).to.have.length(1);
      expect(proxy.matching('GET', /^\/v1\/refunds\?/)).to.have.length(0);
    });
  });

  describe('billing reconciliation', () => {
    it('raises status_mismatch when Stripe captured a charge our record shows canceled', async () => {
      const intentId = `pi_planted_${randomUUID().slice(0, 8)}`;
      const chargeId = `ch_planted_${randomUUID().slice(0, 8)}`;
      const paymentId = randomUUID();
      await shared().db('payments').insert({
        id: paymentId, customerId: `planted-${randomUUID()}`, idempotencyKey: randomUUID(), requestHash: 'x',
        amountCents: 4200, currency: 'usd', taxCents: 0, discountCents: 0, totalCents: 4200,
        captureMethod: 'automatic', status: 'canceled', closedStatus: 'canceled', stripePaymentIntentId: intentId,
      });
      proxy.inject({
        method: 'GET',
        path: /^\/v1\/charges(\?|$)/,
        times: 1,
        respond: {
          status: 200,
          body: {
            object: 'list',
            url: '/v1/charges',
            has_more: false,
            data: [
              { id: chargeId, object: 'charge', amount: 4200, amount_captured: 4200, amount_refunded: 0, captured: true, refunded: false, status: 'succeeded', currency: 'usd', metadata: {}, payment_intent: intentId },
            ],
          },
        },
      });
      const client = await temporalClient();
      const result = await withWorker(() =>
        client.workflow.execute(BILLING_RECONCILIATION_WORKFLOW, { taskQueue: PAYMENTS_TASK_QUEUE, workflowId: `reconciliation-test-${randomUUID()}` }),
      );
      expect(result.chargesSeen).to.equal(1);
      expect(result.disputesSeen).to.be.a('number');
      const mismatches = await call(api.url, 'GET', '/api/v1/payments/reconciliation/anomalies?kind=status_mismatch&limit=200', { token: finance() });
      expect(mismatches.status).to.equal(200);
      const planted = mismatches.body.items.find((a: { reference: string }) => a.reference === chargeId);
      expect(planted).to.include({ kind: 'status_mismatch', paymentId });
      expect(planted.detail).to.match(/captured.*canceled/);
    });

    it('each run starts at the last reconciled point, not a fixed 24 hours back', async () => {
      const client = await temporalClient();
      const runOnce = () =>
        withWorker(async () => {
          const handle = await client.workflow.start(BILLING_RECONCILIATION_WORKFLOW, { taskQueue: PAYMENTS_TASK_QUEUE, workflowId: `reconciliation-test-${randomUUID()}` });
          await handle.result();
          return handle.firstExecutionRunId;
        });
      const first = await runOnce();
      const second = await runOnce();
      const [a, b] = await Promise.all([first, second].map((runId) => shared().db('reconciliation_runs').where({ runId }).first()));
      expect(a.finishedAt).to.not.equal(null);
      expect(b.since.getTime(), 'the second run starts (10 minutes) before where the first stopped').to.equal(a.until.getTime() - 10 * 60_000);
      const charges = proxy.matching('GET', /^\/v1\/charges\?/).map((r) => new URLSearchParams(r.path.split('?')[1]).get('created[gte]'));
      expect(charges[1]).to.equal(String(Math.floor(b.since.getTime() / 1000)));
    });
  });
});
