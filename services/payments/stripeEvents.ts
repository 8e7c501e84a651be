// Stripe webhook events: each stored once by its id, then acted on. PaymentIntent
// events go to their payment's process; refund and dispute events change the records here.
import type Stripe from 'stripe';
import { Payment, StripeEvent } from '../../db/models/Payment';
import type { Db } from '../../lib/db';
import type { StripeEventSignal } from '../../workflows/paymentCapture.contract';
import { applyStripeDispute, paymentByIntent } from './disputes';
import { applyStripeRefund } from './refunds';

/** Delivers an event to the process of the payment it names (the payment capture workflow). */
export type PaymentEventRouter = (paymentId: string, signal: StripeEventSignal) => Promise<unknown>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface EventObject {
  object?: string;
  metadata?: Record<string, string> | null;
  payment_intent?: string | { id: string } | null;
}

const intentIdOf = (object: EventObject): string | null =>
  typeof object.payment_intent === 'string' ? object.payment_intent : (object.payment_intent?.id ?? null);

function signalOf(event: Stripe.Event): StripeEventSignal {
  const object = event.data.object as { last_payment_error?: { decline_code?: string; code?: string; message?: string } | null };
  const error = object.last_payment_error ?? null;
  return { eventId: event.id, type: event.type, declineCode: error?.decline_code ?? error?.code ?? null, message: error?.message ?? null };
}

/** Our payment from the event object's metadata, or else from the PaymentIntent it names. */
async function paymentOf(db: Db, event: Stripe.Event): Promise<Payment | undefined> {
  const object = event.data.object as EventObject;
  const paymentId = object.metadata?.paymentId;
  if (paymentId && UUID.test(paymentId)) return Payment.query(db).findById(paymentId);
  const intentId = intentIdOf(object);
  return intentId ? paymentByIntent(db, intentId) : undefined;
}

const refundSeen = (refund: Stripe.Refund) => ({
  id: refund.id,
  status: refund.status,
  failureReason: refund.failure_reason ?? null,
  refundId: refund.metadata?.refundId ?? null,
});

/** Refund and dispute events change the records themselves; every step is idempotent, so a redelivery is harmless. */
async function applyToRecords(db: Db, event: Stripe.Event): Promise<void> {
  if (event.type === 'refund.updated' || event.type === 'refund.failed') {
    await applyStripeRefund(db, refundSeen(event.data.object));
  } else if (event.type === 'charge.refunded') {
    for (const refund of event.data.object.refunds?.data ?? []) await applyStripeRefund(db, refundSeen(refund));
  } else if (event.type.startsWith('charge.dispute.')) {
    const dispute = event.data.object as Stripe.Dispute;
    await applyStripeDispute(db, {
      id: dispute.id,
      paymentIntentId: intentIdOf(dispute),
      amount: dispute.amount,
      currency: dispute.currency,
      reason: dispute.reason ?? null,
      status: dispute.status,
    });
  }
}

/**
 * Stores a verified event and acts on it. A redelivery of an event already
 * handled changes nothing; one whose handling was cut short is handled again.
 */
export async function receiveStripeEvent(db: Db, event: Stripe.Event, routeToPayment: PaymentEventRouter): Promise<{ duplicate: boolean }> {
  const payment = await paymentOf(db, event);
  const inserted = await db('stripe_events')
    .insert({ id: event.id, type: event.type, paymentId: payment?.id ?? null, payload: JSON.stringify(event) })
    .onConflict('id')
    .ignore()
    .returning('id');
  const stored = (await StripeEvent.query(db).findById(event.id)) as StripeEvent;
  if (inserted.length === 0 && stored.processedAt) return { duplicate: true };
  await applyToRecords(db, event);
  if (payment && event.type.startsWith('payment_intent.')) await routeToPayment(payment.id, signalOf(event));
  await StripeEvent.query(db).findById(event.id).patch({ processedAt: new Date() });
  return { duplicate: inserted.length === 0 };
}
