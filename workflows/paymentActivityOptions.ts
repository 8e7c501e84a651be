import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';

// Stripe calls: the client times out after 10 s and never retries by itself;
// five attempts over ~15 s ride out a Stripe blip, each with the same idempotency key.
const STRIPE_TIMEOUT_AND_RETRIES = {
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
} as const;
export const STRIPE_CALLS: ActivityOptions = STRIPE_TIMEOUT_AND_RETRIES;

// Postgres bookkeeping: short transactions, retried longer since nothing else can settle the record.
export const BOOKKEEPING: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
};

// The first step of a run (reopen the record, create the PaymentIntent: openPaymentIntent) as one local activity:
// it runs in the workflow task that accepted the clientSecret Update, which then answers it, one workflow task
// instead of three and no activity task round trips. Same timeout, attempts and idempotency key as STRIPE_CALLS
// (the step already wrote Postgres under them). Every backoff (1, 2, 4, 8 s) stays under the 1-minute threshold,
// so retries wait in the worker while the SDK heartbeats the workflow task: a slow or down Stripe holds the task
// open up to ~1.5 min, then the run fails as before. A worker crash mid-way times the task out (10 s) and the
// next worker runs the step again from its first attempt: harmless, as the step reads its record first and
// Stripe sees the same key.
export const LOCAL_STRIPE_CALLS: LocalActivityOptions = { ...STRIPE_TIMEOUT_AND_RETRIES, localRetryThreshold: '1 minute' };
