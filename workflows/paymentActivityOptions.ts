import type { ActivityOptions } from '@temporalio/workflow';

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
