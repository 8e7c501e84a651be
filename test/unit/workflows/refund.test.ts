// refund and billingReconciliation with mocked Stripe and ledger activities (SPEC §4.2, §6).
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { expect } from 'chai';
import type { PaymentActivities } from '../../../activities/payments';
import type { billingReconciliation } from '../../../workflows/billingReconciliation';
import { BILLING_RECONCILIATION_WORKFLOW, RECONCILIATION_WINDOW_HOURS } from '../../../workflows/billingReconciliation.contract';
import type { refund } from '../../../workflows/refund';
import {
  PAYMENTS_DOMAIN,
  progressQuery,
  REFUND_REFUSED_FAILURE,
  REFUND_WORKFLOW,
  refundWorkflowId,
  type RefundInput,
} from '../../../workflows/refund.contract';
import { ActivityMocks, rejectionOf, unreachable, useWorkflowRunner } from '../../support/workflowEnv';

function refundMocks(overrides: Partial<PaymentActivities> = {}) {
  return new ActivityMocks<PaymentActivities>({
    reopenFailedRefund: async () => undefined,
    createStripeRefund: async () => 're_unit',
    recordRefund: async () => undefined,
    failRefund: async () => undefined,
    cancelRefund: async () => 'canceled',
    ...overrides,
  });
}

describe('refund workflow (mocked activities)', function () {
  const { run } = useWorkflowRunner<typeof refund>({
    type: REFUND_WORKFLOW,
    domain: PAYMENTS_DOMAIN,
    workflowId: (input) => refundWorkflowId(input.paymentId, input.refundId),
  });
  const request = (): RefundInput => ({ refundId: randomUUID(), paymentId: randomUUID() });

  it('refunds at Stripe, then records it → succeeded', async () => {
    const input = request();
    const mocks = refundMocks();
    const [result, progress] = await run([input], mocks, async (handle) => [await handle.result(), await handle.query(progressQuery)] as const);
    expect(result).to.deep.equal({ refundId: input.refundId, status: 'succeeded' });
    expect(progress).to.deep.equal({ stage: 'succeeded', percent: 100, detail: null });
    expect(mocks.calls).to.deep.equal([
      { name: 'reopenFailedRefund', args: [input.refundId] },
      { name: 'createStripeRefund', args: [input.refundId] },
      { name: 'recordRefund', args: [input.refundId] },
    ]);
  });

  it('a refund Stripe refuses releases the reservation and completes → failed with Stripe’s reason', async () => {
    const input = request();
    const mocks = refundMocks({
      createStripeRefund: async () => {
        throw ApplicationFailure.nonRetryable('charge already refunded', REFUND_REFUSED_FAILURE);
      },
    });
    const result = await run([input], mocks);
    expect(result).to.deep.equal({ refundId: input.refundId, status: 'failed', reason: 'charge already refunded' });
    expect(mocks.argsOf('failRefund')).to.deep.equal([[input.refundId, 'charge already refunded', true]]);
    expect(mocks.names()).to.not.include('recordRefund');
  });

  it('the run canceled while Stripe is retried: the reservation is released, the refund recorded canceled, the run ends Canceled', async () => {
    const input = request();
    let firstAttemptFailed = () => {};
    const retrying = new Promise<void>((resolve) => (firstAttemptFailed = resolve));
    // The cancel lands in the retry backoff, so no activity is left running on the test server.
    const mocks = refundMocks({
      createStripeRefund: async () => {
        firstAttemptFailed();
        throw new Error('stripe timed out');
      },
    });
    const [err, progress] = await run([input], mocks, async (handle) => {
      await retrying;
      await handle.cancel();
      return [await rejectionOf(handle.result()), await handle.query(progressQuery)] as const;
    });
    expect((err as WorkflowFailedError).cause).to.be.instanceOf(CancelledFailure);
    expect(mocks.argsOf('cancelRefund')).to.deep.equal([[input.refundId, 'the run was canceled']]);
    expect(progress).to.deep.equal({ stage: 'canceled', percent: 100, detail: 'the run was canceled' });
    expect(mocks.names()).to.not.include.members(['recordRefund', 'failRefund']);
  });

  it('Stripe unreachable: recorded failed keeping the reservation, and the run fails', async () => {
    const input = request();
    const mocks = refundMocks({ createStripeRefund: unreachable('stripe timed out') });
    const err = await rejectionOf(run([input], mocks));
    expect(err).to.be.instanceOf(WorkflowFailedError);
    expect(mocks.argsOf('createStripeRefund')).to.have.length(5);
    expect(mocks.argsOf('failRefund')).to.deep.equal([[input.refundId, 'refund failed after retries: stripe timed out', false]]);
  });

  it('the ledger unreachable after the Stripe refund: retried 10 times, then recorded failed and the run fails', async () => {
    const input = request();
    const mocks = refundMocks({ recordRefund: unreachable('database unavailable') });
    const err = await rejectionOf(run([input], mocks));
    expect(err).to.be.instanceOf(WorkflowFailedError);
    expect(mocks.argsOf('createStripeRefund')).to.have.length(1);
    expect(mocks.argsOf('recordRefund')).to.have.length(10);
    expect(mocks.argsOf('failRefund')).to.deep.equal([[input.refundId, 'refund failed after retries: database unavailable', false]]);
  });
});

describe('billingReconciliation workflow (mocked activities)', function () {
  const { run } = useWorkflowRunner<typeof billingReconciliation>({
    type: BILLING_RECONCILIATION_WORKFLOW,
    domain: PAYMENTS_DOMAIN,
    workflowId: () => `billing-reconciliation-${randomUUID()}`,
  });

  it('compares the last day of Stripe with the ledger and answers the counts', async () => {
    const counts = { chargesSeen: 12, refundsSeen: 3, anomalies: 1 };
    const mocks = new ActivityMocks<PaymentActivities>({ reconcileStripeWithLedger: async () => counts });
    expect(await run([], mocks)).to.deep.equal(counts);
    expect(mocks.argsOf('reconcileStripeWithLedger')).to.deep.equal([[RECONCILIATION_WINDOW_HOURS]]);
  });

  it('fails the run once the comparison has failed 5 times', async () => {
    const mocks = new ActivityMocks<PaymentActivities>({ reconcileStripeWithLedger: unreachable('stripe list failed') });
    expect(await rejectionOf(run([], mocks))).to.be.instanceOf(WorkflowFailedError);
    expect(mocks.argsOf('reconcileStripeWithLedger')).to.have.length(5);
  });
});
