// Canceling payment and refund runs (SPEC §4 "Canceling a run", §3.1 run roles): the clean-up
// reaches Stripe (seen through the fault proxy), the records settle and the cancel is audited.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { mintToken } from '../../api/middleware/auth';
import { Refund } from '../../db/models/Payment';
import { call, tokenFor } from '../support/http';
import { waitFor } from '../support/wait';
import { createPayment, finance, ledgerImbalance, paymentsWorkerVia, postWebhook, startStripeProxy, stripeEvent, paymentRow } from '../support/payments';
import { shared, startApi, temporalClient, type TestApi } from '../support/shared';
import { stripeOutage, type StripeProxy } from '../support/stripeProxy';

describe('canceling payment and refund runs (SPEC §4)', () => {
  let api: TestApi;
  let proxy: StripeProxy;
  // Run actions need a run role and, for payment runs, a finance role (SPEC §3.1).
  const supportInFinance = () => mintToken(shared().config, { sub: 'finance-support', roles: ['support', 'finance'], expiresInSeconds: 600 });

  before(async () => {
    api = await startApi({ RATE_LIMIT_BURST: 10000 });
  });
  beforeEach(async () => {
    proxy = await startStripeProxy();
  });
  afterEach(async () => {
    await proxy.close();
  });

  const cancelRun = (workflowId: string, token: string, reason = 'support ticket 42') =>
    call(api.url, 'POST', `/api/v1/runs/${encodeURIComponent(workflowId)}/cancel`, { token, body: { reason } });
  const untilStatus = (id: string, status: string) =>
    waitFor(`payment ${id} to reach ${status}`, async () => ((await paymentRow(id)).status === status ? true : undefined));
  /** How the run ended: the error its result rejects with. */
  const endOf = async (workflowId: string) =>
    (await temporalClient()).workflow.getHandle(workflowId).result().then(
      () => expect.fail('the run completed'),
      (err: unknown) => err,
    );

  async function withWorker<T>(work: () => Promise<T>): Promise<T> {
    return (await paymentsWorkerVia(proxy)).runUntil(work);
  }

  /** A manual payment whose authorization Stripe reported: the run waits for a capture. */
  async function authorizedPayment(): Promise<{ id: string; workflowId: string }> {
    const { payment, run } = (await createPayment(api.url, { captureMethod: 'manual' })).body;
    await postWebhook(api.url, stripeEvent('payment_intent.amount_capturable_updated', payment.id));
    await untilStatus(payment.id, 'requires_capture');
    return { id: payment.id as string, workflowId: run.workflowId as string };
  }

  async function expectAuditedCancel(workflowId: string) {
    const rows = await shared().db('audit_events').where({ action: 'run.cancel', target: `run:${workflowId}` });
    expect(rows).to.have.length(1);
    expect(rows[0]).to.include({ actorSub: 'finance-support', reason: 'support ticket 42', outcome: 'succeeded' });
    expect(rows[0].actorRoles).to.deep.equal(['support', 'finance']);
  }

  it('an authorized payment: an operator or finance alone is refused; support in finance cancels, the intent is canceled at Stripe, recorded canceled, run Canceled', async () => {
    await withWorker(async () => {
      const { id, workflowId } = await authorizedPayment();
      const refused = await cancelRun(workflowId, tokenFor('operator'));
      expect([refused.status, refused.body.code]).to.deep.equal([403, 'DOMAIN_ROLE_REQUIRED']);
      expect((await cancelRun(workflowId, tokenFor('finance'))).status, 'finance alone holds no run role').to.equal(403);
      const cancel = await cancelRun(workflowId, supportInFinance());
      expect(cancel.status, JSON.stringify(cancel.body)).to.equal(202);
      const end = await endOf(workflowId);
      expect(end).to.be.instanceOf(WorkflowFailedError);
      expect((end as WorkflowFailedError).cause).to.be.instanceOf(CancelledFailure);
      expect(await paymentRow(id)).to.include({ status: 'canceled', failureReason: 'the run was canceled' });
      expect(proxy.matching('POST', /^\/v1\/payment_intents\/[^/]+\/cancel$/)).to.have.length(1);
      await expectAuditedCancel(workflowId);
    });
  });

  it('a payment Stripe says succeeded after all is recorded captured, with a balanced ledger, and the run still ends Canceled', async () => {
    await withWorker(async () => {
      const { id, workflowId } = await authorizedPayment();
      const intentId = (await paymentRow(id)).stripePaymentIntentId as string;
      proxy.inject({
        method: 'POST',
        path: /\/cancel$/,
        times: 1,
        respond: { status: 400, body: { error: { type: 'invalid_request_error', code: 'payment_intent_unexpected_state', message: 'already succeeded' } } },
      });
      proxy.inject({
        method: 'GET',
        path: new RegExp(`^/v1/payment_intents/${intentId}`),
        times: 1,
        respond: { status: 200, body: { id: intentId, object: 'payment_intent', status: 'succeeded' } },
      });
      expect((await cancelRun(workflowId, supportInFinance())).status).to.equal(202);
      expect(((await endOf(workflowId)) as WorkflowFailedError).cause).to.be.instanceOf(CancelledFailure);
      expect((await paymentRow(id)).status).to.equal('succeeded');
      expect(await ledgerImbalance(id)).to.equal(0);
      expect(proxy.matching('GET', new RegExp(`^/v1/payment_intents/${intentId}`))).to.have.length(1);
    });
  });

  it('a refund canceled while Stripe is down: the reservation is released, recorded canceled, run Canceled', async () => {
    await withWorker(async () => {
      const { payment, run } = (await createPayment(api.url, { amountCents: 10000 })).body;
      await postWebhook(api.url, stripeEvent('payment_intent.succeeded', payment.id));
      await untilStatus(payment.id, 'succeeded');
      await (await temporalClient()).workflow.getHandle(run.workflowId).result();

      proxy.inject({ method: 'POST', path: /^\/v1\/refunds$/, times: Infinity, respond: stripeOutage });
      const refundCall = (amountCents: number) =>
        call(api.url, 'POST', `/api/v1/payments/${payment.id}/refunds`, { token: finance(), headers: { 'Idempotency-Key': randomUUID() }, body: { amountCents } });
      const requested = await refundCall(10000);
      expect(requested.status, JSON.stringify(requested.body)).to.equal(202);
      await waitFor('a refund attempt', async () => (proxy.matching('POST', /^\/v1\/refunds$/).length > 0 ? true : undefined));
      const workflowId = requested.body.run.workflowId as string;
      expect((await cancelRun(workflowId, supportInFinance())).status).to.equal(202);
      expect(((await endOf(workflowId)) as WorkflowFailedError).cause).to.be.instanceOf(CancelledFailure);
      expect(await Refund.query(shared().db).findById(requested.body.refund.id)).to.include({ status: 'canceled', reserved: false });
      expect((await paymentRow(payment.id)).status).to.equal('succeeded');
      await expectAuditedCancel(workflowId);
      const again = await refundCall(10000);
      expect(again.status, 'the whole amount is refundable again').to.equal(202);
      await (await temporalClient()).workflow.getHandle(again.body.run.workflowId).terminate('the test is over');
    });
  });
});
