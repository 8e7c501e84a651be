// Stripe webhook events: each stored once by its id, then handed to its payment's process.
import type Stripe from 'stripe';
import { Payment, StripeEvent } from '../../db/models/Payment';
import type { Db } from '../../lib/db';
import type { StripeEventSignal } from '../../workflows/paymentCapture.contract';

/** Delivers an event to the process of the payment it names (the payment capture workflow). */
export type PaymentEventRouter = (paymentId: string, signal: StripeEventSignal) => Promise<unknown>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function signalOf(event: Stripe.Event): StripeEventSignal {
  const object = event.data.object as { last_payment_error?: { decline_code?: string; code?: string; message?: string } | null };
  const error = object.last_payment_error ?? null;
  return { eventId: event.id, type: event.type, declineCode: error?.decline_code ?? error?.code ?? null, message: error?.message ?? null };
}

/** Our payment from the event's object metadata, when it names one we know. */
async function paymentOf(db: Db, event: Stripe.Event): Promise<Payment | undefined> {
  const paymentId = (event.data.object as { metadata?: Record<string, string> }).metadata?.paymentId;
  return paymentId && UUID.test(paymentId) ? Payment.query(db).findById(paymentId) : undefined;
}

/**
 * Stores a verified event and routes it. A redelivery of an event already
 * routed changes nothing; one whose routing was cut short is routed again.
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
  if (payment) await routeToPayment(payment.id, signalOf(event));
  await StripeEvent.query(db).findById(event.id).patch({ processedAt: new Date() });
  return { duplicate: inserted.length === 0 };
}
