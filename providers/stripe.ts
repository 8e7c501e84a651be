import Stripe from 'stripe';

export interface StripeSettings {
  /** Base URL of the Stripe API: stripe-mock locally, a fault-injecting proxy in tests. */
  apiBase: string;
  secretKey: string;
  timeoutMs: number;
}

export type StripeClient = Stripe;

/**
 * The official client, pointed at `apiBase`. It never retries by itself: retries
 * belong to Temporal, which reuses the same idempotency key on every attempt.
 */
export function createStripeClient(settings: StripeSettings): StripeClient {
  const url = new URL(settings.apiBase);
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  return new Stripe(settings.secretKey, {
    host: url.hostname,
    port: Number(url.port || (protocol === 'https' ? 443 : 80)),
    protocol,
    timeout: settings.timeoutMs,
    maxNetworkRetries: 0,
    telemetry: false,
    appInfo: { name: 'edulure-flow' },
  });
}

export const STRIPE_API = 'https://api.stripe.com';

/** Whether the Stripe API answers an authenticated request (for readiness); throws why not. */
export async function stripeReachable(settings: Omit<StripeSettings, 'timeoutMs'>, timeoutMs: number): Promise<void> {
  const res = await fetch(`${settings.apiBase}/v1/balance`, {
    headers: { Authorization: `Bearer ${settings.secretKey}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}

/**
 * Verifies a webhook's signature and timestamp (5 minutes' tolerance) with any of the secrets (two while
 * Stripe rolls one) and parses it.
 */
export function verifyWebhook(rawBody: Buffer, signature: string, secrets: readonly string[]): Stripe.Event {
  let refusal: unknown = new Error('no webhook secret configured');
  for (const secret of secrets) {
    try {
      return Stripe.webhooks.constructEvent(rawBody, signature, secret, 300);
    } catch (err) {
      refusal = err;
    }
  }
  throw refusal;
}

export const isCardError = (err: unknown): err is Stripe.errors.StripeCardError =>
  err instanceof Stripe.errors.StripeCardError;

/** A request Stripe understood and refused: repeating it cannot help. */
export const isInvalidRequest = (err: unknown): err is Stripe.errors.StripeInvalidRequestError =>
  err instanceof Stripe.errors.StripeInvalidRequestError;
