import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import type { Worker } from '@temporalio/worker';
import { createPaymentActivities } from '../../activities/payments';
import { createStripeClient } from '../../providers/stripe';
import { PAYMENTS_TASK_QUEUE } from '../../workflows/paymentCapture.contract';
import { call, tokenFor } from './http';
import { Payment } from '../../db/models/Payment';
import { createWorker, shared } from './shared';
import { StripeProxy } from './stripeProxy';
import { waitFor } from './wait';

/** A Stripe event as Stripe would send it about one of our payments. */
export function stripeEvent(type: string, paymentId: string | null, extra: Record<string, unknown> = {}) {
  return {
    id: `evt_${randomUUID().replace(/-/g, '')}`,
    object: 'event',
    type,
    api_version: '2025-08-27.basil',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    data: { object: { id: `pi_${randomUUID().slice(0, 8)}`, object: 'payment_intent', metadata: paymentId ? { paymentId } : {}, ...extra } },
  };
}

/** Posts an event to the webhook endpoint, signed with the configured secret unless told otherwise. */
export function postWebhook(apiUrl: string, event: object, options: { secret?: string; timestamp?: number } = {}) {
  const payload = JSON.stringify(event);
  const signature = Stripe.webhooks.generateTestHeaderString({
    payload,
    secret: options.secret ?? shared().config.STRIPE_WEBHOOK_SECRET[0],
    timestamp: options.timestamp,
  });
  return call(apiUrl, 'POST', '/api/v1/webhooks/stripe', { body: payload, headers: { 'Stripe-Signature': signature } });
}

/** Stripe retries a webhook until it is answered 2xx; so does this (through API or Postgres outages). */
export async function deliverUntilAccepted(apiUrl: string, event: object): Promise<void> {
  await waitFor('the webhook to be accepted', async () => {
    const res = await postWebhook(apiUrl, event).catch(() => null);
    return res && res.status < 300 ? true : undefined;
  }, 120_000);
}

export const finance = () => tokenFor('finance');

export async function createPayment(apiUrl: string, body: Record<string, unknown> = {}, key = randomUUID()) {
  return call(apiUrl, 'POST', '/api/v1/payments', {
    token: finance(),
    headers: { 'Idempotency-Key': key },
    body: { customerId: `cust-${randomUUID()}`, amountCents: 5000, currency: 'usd', captureMethod: 'automatic', ...body },
  });
}

/** A payments worker whose Stripe calls go through `proxy` (to count them or inject faults), on the clock `now` if given. */
export async function paymentsWorkerVia(proxy: StripeProxy, timeoutMs = shared().config.PROVIDER_TIMEOUT_MS, now?: () => number): Promise<Worker> {
  const { db, config } = shared();
  const stripe = createStripeClient({ apiBase: proxy.url, secretKey: config.STRIPE_SECRET_KEY, timeoutMs });
  return createWorker(PAYMENTS_TASK_QUEUE, createPaymentActivities({ db, stripe, now }));
}

/** A payment's row as the database holds it now. */
export const paymentRow = async (id: string) => (await Payment.query(shared().db).findById(id)) as Payment;

export const startStripeProxy = () => StripeProxy.start(shared().config.STRIPE_API_BASE);

/** Sum of debits minus credits of one payment's postings: zero when the ledger balances. */
export async function ledgerImbalance(paymentId: string): Promise<number> {
  const rows = (await shared().db('ledger_entries').where({ paymentId })) as Array<{ direction: string; amountCents: string }>;
  return rows.reduce((sum, r) => sum + (r.direction === 'debit' ? 1 : -1) * Number(r.amountCents), 0);
}
