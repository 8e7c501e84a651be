import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { LedgerEntry, Payment, Refund } from '../../db/models/Payment';
import { PAYMENTS_TASK_QUEUE } from '../../workflows/paymentCapture.contract';
import { call } from '../support/http';
import { createPayment, finance, ledgerImbalance, postWebhook, startStripeProxy, stripeEvent } from '../support/payments';
import { createWorker, shared, startApi, temporalClient } from '../support/shared';
import { killHard, startWorkerProcess } from '../support/workerProcess';
import { waitFor } from '../support/wait';

describe('chaos: SIGKILL the worker between the Stripe refund and the ledger write (SPEC §6)', () => {
  const workers: ChildProcess[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map(killHard));
  });

  it('a new worker finishes with one set of postings and the same idempotency key reused', async () => {
    const api = await startApi();
    const client = await temporalClient();
    const { payment, run } = (await createPayment(api.url, { amountCents: 8000 })).body;
    await (await createWorker(PAYMENTS_TASK_QUEUE)).runUntil(async () => {
      await postWebhook(api.url, stripeEvent('payment_intent.succeeded', payment.id));
      await client.workflow.getHandle(run.workflowId).result();
    });

    const proxy = await startStripeProxy();
    try {
      // Stripe receives and performs the refund, but its answer never reaches the first worker.
      proxy.inject({ method: 'POST', path: /^\/v1\/refunds$/, times: 1, hold: true });
      const refund = await call(api.url, 'POST', `/api/v1/payments/${payment.id}/refunds`, {
        token: finance(),
        headers: { 'Idempotency-Key': 'crash-refund' },
        body: { amountCents: 3000 },
      });
      expect(refund.status).to.equal(202);

      const first = startWorkerProcess({ STRIPE_API_BASE: proxy.url });
      workers.push(first);
      await waitFor('Stripe to have performed the refund', async () => (proxy.heldCount === 1 ? true : undefined));
      await killHard(first);
      expect(await LedgerEntry.query(shared().db).where({ refundId: refund.body.refund.id })).to.have.length(0);

      workers.push(startWorkerProcess({ STRIPE_API_BASE: proxy.url }));
      const result = await client.workflow.getHandle(refund.body.run.workflowId).result();
      expect(result.status).to.equal('succeeded');

      const calls = proxy.matching('POST', /^\/v1\/refunds$/);
      expect(calls).to.have.length(2);
      expect(calls.map((c) => c.idempotencyKey)).to.deep.equal(Array(2).fill(`${refund.body.run.workflowId}:create-refund`));
      const postings = await LedgerEntry.query(shared().db).where({ refundId: refund.body.refund.id });
      expect(postings.map((p) => `${p.direction}:${p.account}:${p.amountCents}`).sort()).to.deep.equal([
        'credit:stripe_balance:3000',
        'debit:refunds:3000',
      ]);
      expect(await Refund.query(shared().db).findById(refund.body.refund.id)).to.include({ status: 'succeeded', reserved: false });
      expect(await Payment.query(shared().db).findById(payment.id)).to.include({ status: 'partially_refunded' });
      expect(await ledgerImbalance(payment.id)).to.equal(0);
    } finally {
      await proxy.close();
    }
  });
});
