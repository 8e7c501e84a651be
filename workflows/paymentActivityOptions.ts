import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';

// Stripe calls: the client times out after 10 s and never retries by itself;
// five attempts over ~15 s ride out a Stripe blip, each with the same idempotency key.
export const STRIPE_CALLS: ActivityOptions = {
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
};

// Postgres bookkeeping: short transactions, retried longer since nothing else can settle the record.
export const BOOKKEEPING: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
};

// The first steps of a run (reopen the record, create the PaymentIntent) as local activities: they run in the
// workflow task that accepted the clientSecret Update, which then answers it, one workflow task instead of three
// and no activity task round trips. Same timeouts, attempts and idempotency keys as above. Every backoff (at most
// 10 s and 30 s) stays under the 1-minute threshold, so retries wait in the worker while the SDK heartbeats the
// workflow task (a slow or down Stripe holds the task open up to ~1.5 min, Postgres up to ~5 min, then the run
// fails as before). A worker crash mid-way times the task out (10 s) and the next worker runs the step again
// from its first attempt: harmless, as each step reads its record first and Stripe sees the same key.
const LOCAL_RETRY_THRESHOLD = '1 minute';
export const LOCAL_STRIPE_CALLS: LocalActivityOptions = { ...STRIPE_CALLS, localRetryThreshold: LOCAL_RETRY_THRESHOLD };
export const LOCAL_BOOKKEEPING: LocalActivityOptions = { ...BOOKKEEPING, localRetryThreshold: LOCAL_RETRY_THRESHOLD };
