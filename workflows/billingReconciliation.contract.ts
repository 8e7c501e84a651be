// The hourly comparison of Stripe's last 24 hours with the ledger.
import type { ReconciliationResult } from '../schemas/payments';

export type { ReconciliationResult };
export { PAYMENTS_DOMAIN, PAYMENTS_TASK_QUEUE } from './paymentCapture.contract';

export const BILLING_RECONCILIATION_WORKFLOW = 'billingReconciliation';
export const BILLING_RECONCILIATION_SCHEDULE = 'billing-reconciliation';

export const RECONCILIATION_WINDOW_HOURS = 24;
