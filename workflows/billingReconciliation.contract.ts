// The hourly comparison of Stripe since the last reconciled point with the ledger and the records.
import type { ReconciliationResult } from '../schemas/payments';

export type { ReconciliationResult };
export { PAYMENTS_DOMAIN, PAYMENTS_TASK_QUEUE } from './paymentCapture.contract';

export const BILLING_RECONCILIATION_WORKFLOW = 'billingReconciliation';
export const BILLING_RECONCILIATION_SCHEDULE = 'billing-reconciliation';

/** How far back the first run looks; every later run starts at the last reconciled point. */
export const RECONCILIATION_WINDOW_HOURS = 24;
