import { proxyActivities } from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/payments';
import { RECONCILIATION_WINDOW_HOURS, type ReconciliationResult } from './billingReconciliation.contract';

// Paging through a day of charges and refunds: minutes at most, heartbeating per item.
const { reconcileStripeWithLedger } = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumAttempts: 5 },
});

/** Hourly: what Stripe saw in the last day against what the ledger holds. */
export async function billingReconciliation(): Promise<ReconciliationResult> {
  return reconcileStripeWithLedger(RECONCILIATION_WINDOW_HOURS);
}
