import { expect } from 'chai';
import { LedgerEntry, Payment } from '../../../db/models/Payment';
import { createPayment, deliverUntilAccepted, ledgerImbalance, stripeEvent } from '../../support/payments';
import { shared } from '../../support/shared';
import { waitFor } from '../../support/wait';
import type { Scenario } from '../matrix/types';
import type { Checks } from '../matrix/checks';
import { settledResult, times, type RunRef } from './runs';

export const AMOUNT_CENTS = 5000;

export interface Started {
  paymentId: string;
  run: RunRef;
}

/** `n` automatic payments through the API; resolves once Stripe holds a PaymentIntent for each. */
export async function startPayments(apiUrl: string, n: number): Promise<Started[]> {
  const started = await times(n, async () => {
    const res = await createPayment(apiUrl, { amountCents: AMOUNT_CENTS });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return { paymentId: res.body.payment.id as string, run: res.body.run as RunRef };
  });
  const ids = started.map((p) => p.paymentId);
  await waitFor('every PaymentIntent to be created', async () =>
    (await Payment.query(shared().db).whereIn('id', ids).whereNotNull('stripePaymentIntentId')).length === n || undefined,
  );
  return started;
}

/** Stripe's success webhooks, retried until accepted, then every capture run's result. */
export async function capture(apiUrl: string, payments: Started[], checks: Checks): Promise<void> {
  await Promise.all(payments.map((p) => deliverUntilAccepted(apiUrl, stripeEvent('payment_intent.succeeded', p.paymentId))));
  for (const { paymentId, run } of payments) {
    const result = await settledResult<{ status: string }>(run);
    checks.equal(result.status, 'succeeded', `capture of ${paymentId}`);
    const row = await Payment.query(shared().db).findById(paymentId);
    checks.equal(row?.status, result.status, `payment ${paymentId} row agrees with its run`);
  }
}

export async function expectPostings(checks: Checks, where: Record<string, string>, expected: string[]): Promise<void> {
  const postings = await LedgerEntry.query(shared().db).where(where);
  checks.equal(postings.map((p) => `${p.direction}:${p.account}:${p.amountCents}`).sort(), expected, `postings of ${JSON.stringify(where)}, once each`);
}

export const paymentCapture: Scenario<Started[]> = {
  process: 'payment capture',
  stripeCalls: [{ method: 'POST', path: /^\/v1\/payment_intents$/ }],
  start: (ctx) => startPayments(ctx.api.url, ctx.runs),
  runsOf: (payments) => payments.map((p) => p.run),
  async settle(ctx, payments, checks) {
    await capture(ctx.api.url, payments, checks);
    for (const { paymentId } of payments) {
      await expectPostings(checks, { paymentId }, [`credit:revenue:${AMOUNT_CENTS}`, `debit:stripe_balance:${AMOUNT_CENTS}`]);
      checks.equal(await ledgerImbalance(paymentId), 0, `ledger of ${paymentId} balances`);
    }
    const creates = ctx.proxy.matching('POST', /^\/v1\/payment_intents$/).map((r) => r.idempotencyKey);
    checks.equal(new Set(creates).size, payments.length, 'one PaymentIntent idempotency key per payment, however often retried');
  },
};
