import { Type } from '@sinclair/typebox';
import type Stripe from 'stripe';
import { Payment, StripeEvent } from '../../db/models/Payment';
import { badRequest } from '../../lib/errors';
import { signalStripeEvent } from '../../lib/clients/payments';
import { verifyWebhook } from '../../providers/stripe';
import type { StripeEventSignal } from '../../workflows/paymentCapture.contract';
import type { AppDeps } from '../deps';
import { defineRoute } from '../route';

const WebhookAck = Type.Object({ received: Type.Boolean(), duplicate: Type.Boolean() });
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function verified(rawBody: Buffer | undefined, signature: string | string[] | undefined, secret: string): Stripe.Event {
  if (typeof signature !== 'string' || !rawBody) throw badRequest('SIGNATURE_MISSING', 'a Stripe-Signature header is required');
  try {
    return verifyWebhook(rawBody, signature, secret);
  } catch {
    throw badRequest('SIGNATURE_INVALID', 'the Stripe signature is invalid or too old');
  }
}

function signalOf(event: Stripe.Event): StripeEventSignal {
  const object = event.data.object as { last_payment_error?: { decline_code?: string; code?: string; message?: string } | null };
  const error = object.last_payment_error ?? null;
  return { eventId: event.id, type: event.type, declineCode: error?.decline_code ?? error?.code ?? null, message: error?.message ?? null };
}

/** Our payment id from the event's object metadata, when it names one we know. */
async function paymentOf(deps: AppDeps, event: Stripe.Event): Promise<Payment | undefined> {
  const paymentId = (event.data.object as { metadata?: Record<string, string> }).metadata?.paymentId;
  return paymentId && UUID.test(paymentId) ? Payment.query(deps.db).findById(paymentId) : undefined;
}

/** Hands the event to its payment's workflow; a closed workflow has nothing left to learn from it. */
async function route(deps: AppDeps, payment: Payment, event: Stripe.Event): Promise<void> {
  await signalStripeEvent(deps.temporal, payment.id, signalOf(event));
}

export const webhookRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/v1/webhooks/stripe',
    summary: 'Stripe webhooks: signature verified, each event stored once and routed to its payment workflow',
    tag: 'webhooks',
    access: 'stripe-signature',
    rawBody: true,
    headers: [{ name: 'Stripe-Signature', required: true, description: 'signed with STRIPE_WEBHOOK_SECRET' }],
    responses: {
      200: { description: 'acknowledged (also for replays and unknown payments)', schema: WebhookAck },
      400: { description: 'SIGNATURE_MISSING or SIGNATURE_INVALID (bad or stale)' },
    },
    handler: async ({ rawBody, headers, deps }) => {
      const event = verified(rawBody, headers['stripe-signature'], deps.config.STRIPE_WEBHOOK_SECRET);
      const payment = await paymentOf(deps, event);
      const inserted = await deps.db('stripe_events')
        .insert({ id: event.id, type: event.type, paymentId: payment?.id ?? null, payload: JSON.stringify(event) })
        .onConflict('id')
        .ignore()
        .returning('id');
      const stored = (await StripeEvent.query(deps.db).findById(event.id)) as StripeEvent;
      // A redelivery of an event we already routed changes nothing; one whose routing was cut short is routed again.
      if (inserted.length === 0 && stored.processedAt) return { status: 200, body: { received: true, duplicate: true } };
      if (payment) await route(deps, payment, event);
      await StripeEvent.query(deps.db).findById(event.id).patch({ processedAt: new Date() });
      return { status: 200, body: { received: true, duplicate: inserted.length === 0 } };
    },
  }),
];
