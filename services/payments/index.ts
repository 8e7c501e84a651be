// The payments domain: pricing, payments, coupons, refunds, the ledger, the
// summary report, Stripe events and billing reconciliation. Called by the API
// routes and the payment activities alike; no Koa and no Temporal in here.
export * from './coupons';
export * from './disputes';
export * from './payments';
export * from './prices';
export * from './pricing';
export * from './reconciliation';
export * from './refunds';
export * from './report';
export * from './settings';
export * from './stripeEvents';
