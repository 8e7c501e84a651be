import { proxyActivities } from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/payments';
import { RECONCILIATION_WINDOW_HOURS, type ReconciliationResult } from './billingReconciliation.contract';

// Paging through the charges, refunds and disputes since the last run: minutes at most, heartbeating per item.
const { reconcileStripeWithLedger } = proxyActivities<PaymentActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumAttempts: 5 },
});

/** Hourly: what Stripe saw since the last reconciled point against the ledger and the records. */
export async function billingReconciliation(): Promise<ReconciliationResult> {
  return reconcileStripeWithLedger(RECONCILIATION_WINDOW_HOURS);
}
