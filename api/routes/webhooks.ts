import { Type } from '@sinclair/typebox';
import type Stripe from 'stripe';
import { badRequest } from '../../lib/errors';
import { signalStripeEvent } from '../../lib/clients/payments';
import { verifyWebhook } from '../../providers/stripe';
import { receiveStripeEvent, type PaymentEventRouter } from '../../services/payments';
import { defineRoute } from '../route';

const WebhookAck = Type.Object({ received: Type.Boolean(), duplicate: Type.Boolean() });

function verified(rawBody: Buffer | undefined, signature: string | string[] | undefined, secrets: readonly string[]): Stripe.Event {
  if (typeof signature !== 'string' || !rawBody) throw badRequest('SIGNATURE_MISSING', 'a Stripe-Signature header is required');
  try {
    return verifyWebhook(rawBody, signature, secrets);
  } catch {
    throw badRequest('SIGNATURE_INVALID', 'the Stripe signature is invalid or too old');
  }
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
      const routeToPayment: PaymentEventRouter = (paymentId, signal) => signalStripeEvent(deps.temporal, paymentId, signal);
      const { duplicate } = await receiveStripeEvent(deps.db, event, routeToPayment);
      return { status: 200, body: { received: true, duplicate } };
    },
  }),
];
