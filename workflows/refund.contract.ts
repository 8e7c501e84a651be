// Shared by the API and the workflow: how to start and find a refund.
import type { RefundInput, RefundResult } from '../schemas/payments';

export type { RefundInput, RefundResult };
export { progressQuery, type Progress } from './progress';
export { PAYMENTS_DOMAIN, PAYMENTS_TASK_QUEUE } from './paymentCapture.contract';

export const REFUND_WORKFLOW = 'refund';

export const refundWorkflowId = (paymentId: string, idempotencyKey: string): string =>
  `refund:${paymentId}:${idempotencyKey}`;

/** ApplicationFailure type for a refund Stripe refuses: the reservation is released, the run completes. */
export const REFUND_REFUSED_FAILURE = 'RefundRefused';
