import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Payment, Refund } from '../../../db/models/Payment';
import { call } from '../../support/http';
import { finance, ledgerImbalance } from '../../support/payments';
import { shared } from '../../support/shared';
import { waitFor } from '../../support/wait';
import { Checks } from '../matrix/checks';
import type { Scenario } from '../matrix/types';
import { capture, startPayments } from './paymentCapture';
import { settledResult, times, type RunRef } from './runs';

const REFUND_CENTS = 2000;

interface Refunding {
  paymentId: string;
  refundId: string;
  run: RunRef;
}

/** Partial refunds of captured payments: the payments are captured before the fault, the refunds run through it. */
export const refund: Scenario<Refunding[]> = {
  process: 'refund',
  stripeCalls: [{ method: 'POST', path: /^\/v1\/refunds$/ }],
  async start(ctx) {
    const payments = await startPayments(ctx.api.url, ctx.runs);
    await capture(ctx.api.url, payments, new Checks());
    const refunds = await times(ctx.runs, async (i) => {
      const res = await call(ctx.api.url, 'POST', `/api/v1/payments/${payments[i].paymentId}/refunds`, {
        token: finance(),
        headers: { 'Idempotency-Key': randomUUID() },
        body: { amountCents: REFUND_CENTS },
      });
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      return { paymentId: payments[i].paymentId, refundId: res.body.refund.id as string, run: res.body.run as RunRef };
    });
    await waitFor('every refund to be reserved', async () =>
      (await Refund.query(shared().db).whereIn('id', refunds.map((r) => r.refundId))).length === refunds.length || undefined,
    );
    return refunds;
  },
  runsOf: (refunds) => refunds.map((r) => r.run),
  async settle(ctx, refunds, checks) {
    const { db } = shared();
    for (const { paymentId, refundId, run } of refunds) {
      const result = await settledResult<{ status: string }>(run);
      checks.equal(result.status, 'succeeded', `refund ${refundId}`);
      const row = await Refund.query(db).findById(refundId);
      checks.equal([row?.status, row?.reserved], [result.status, false], `refund ${refundId} row agrees with its run`);
      checks.equal((await Payment.query(db).findById(paymentId))?.status, 'partially_refunded', `payment ${paymentId}`);
      const postings = (await db('ledger_entries').where({ refundId })) as Array<{ direction: string; account: string; amountCents: string }>;
      checks.equal(
        postings.map((p) => `${p.direction}:${p.account}:${p.amountCents}`).sort(),
        [`credit:stripe_balance:${REFUND_CENTS}`, `debit:refunds:${REFUND_CENTS}`],
        `postings of refund ${refundId}, once each`,
      );
      checks.equal(await ledgerImbalance(paymentId), 0, `ledger of ${paymentId} balances`);
    }
    const keys = ctx.proxy.matching('POST', /^\/v1\/refunds$/).map((r) => r.idempotencyKey);
    checks.equal([...new Set(keys)].sort(), refunds.map((r) => `${r.run.workflowId}:create-refund`).sort(), 'one Stripe refund key per refund, however often retried');
    const ids = refunds.map((r) => r.refundId);
    const audit = (await db('audit_events').where({ action: 'refund.create' }).whereRaw("after->>'refundId' = any(?)", [ids])) as Array<{ after: { refundId: string }; outcome: string }>;
    checks.equal(audit.map((a) => [a.after.refundId, a.outcome]).sort(), ids.map((id) => [id, 'succeeded']).sort(), 'one settled refund.create audit row per refund');
  },
};
