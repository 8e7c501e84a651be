import { CancellationScope, isCancellation, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/payments';
import { applicationFailureOf, causeMessage } from './failures';
import { BOOKKEEPING, STRIPE_CALLS } from './paymentActivityOptions';
import { progressQuery, REFUND_REFUSED_FAILURE, type Progress, type RefundInput, type RefundResult } from './refund.contract';

const stripeCalls = proxyActivities<PaymentActivities>(STRIPE_CALLS);
const bookkeeping = proxyActivities<PaymentActivities>(BOOKKEEPING);

export async function refund(input: RefundInput): Promise<RefundResult> {
  const { refundId } = input;
  let progress: Progress = { stage: 'refunding', percent: 10, detail: null };
  setHandler(progressQuery, () => progress);

  try {
    // Added after the first release: runs started before it carry no marker and skip this step on replay.
    if (patched('reopen-failed-refund-on-replay')) await bookkeeping.reopenFailedRefund(refundId);
    await stripeCalls.createStripeRefund(refundId);
    progress = { stage: 'recording', percent: 70, detail: null };
    await bookkeeping.recordRefund(refundId);
    progress = { stage: 'succeeded', percent: 100, detail: null };
    return { refundId, status: 'succeeded' };
  } catch (err) {
    // Added after the first release: runs canceled before it ended Canceled still holding the reservation.
    if (isCancellation(err) && patched('cancellation-cleanup')) {
      const reason = 'the run was canceled';
      const recorded = await CancellationScope.nonCancellable(() => bookkeeping.cancelRefund(refundId, reason));
      progress = { stage: recorded, percent: 100, detail: reason };
      throw err;
    }
    const refused = applicationFailureOf(err, REFUND_REFUSED_FAILURE)?.message ?? null;
    const reason = refused ?? `refund failed after retries: ${causeMessage(err)}`;
    progress = { stage: 'failed', percent: 100, detail: reason };
    await bookkeeping.failRefund(refundId, reason, refused !== null);
    if (refused) return { refundId, status: 'failed', reason };
    throw err;
  }
}
