// paymentCapture's branches with mocked Stripe and bookkeeping activities (SPEC §4.2, §6).
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { expect } from 'chai';
import { temporal } from '@temporalio/proto';
import type { PaymentActivities } from '../../../activities/payments';
import type { paymentCapture } from '../../../workflows/paymentCapture';
import {
  cancelUpdate,
  captureUpdate,
  CARD_DECLINED_FAILURE,
  clientSecretUpdate,
  PAYMENT_CAPTURE_WORKFLOW,
  PAYMENTS_DOMAIN,
  paymentWorkflowId,
  progressQuery,
  stripeEventSignal,
  PAYMENT_NOT_CANCELABLE,
  PAYMENT_NOT_CAPTURABLE,
  type PaymentCaptureInput,
} from '../../../workflows/paymentCapture.contract';
import { waitFor } from '../../support/wait';
import { ActivityMocks, rejectionOf, unreachable, untilStage, useWorkflowRunner } from '../../support/workflowEnv';

const TTL_HOURS = 72;
const { EventType } = temporal.api.enums.v1;

/** The ApplicationFailure type and message a rejected Update carries. */
function rejection(err: unknown) {
  expect(err).to.be.instanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause;
  expect(cause).to.be.instanceOf(ApplicationFailure);
  return { type: (cause as ApplicationFailure).type, message: cause?.message };
}
type Payment = WorkflowHandle<typeof paymentCapture>;

/** Stripe and the ledger answering as they do for a payment that goes through. */
function paymentMocks(overrides: Partial<PaymentActivities> = {}) {
  const mocks = new ActivityMocks<PaymentActivities>({
    reopenFailedPayment: async () => undefined,
    createPaymentIntent: async () => ({ intentId: 'pi_unit', clientSecret: 'pi_unit_secret_unit' }),
    confirmPaymentIntent: async () => 'processing',
    capturePaymentIntent: async () => 'succeeded',
    cancelPaymentIntent: async () => 'canceled',
    releaseAuthorization: async () => 'canceled',
    recordCapture: async () => undefined,
    recordPaymentStatus: async () => undefined,
    ...overrides,
  });
  // The first step of a run (one local activity) is the two as activities/payments.ts composes them: the recorded
  // calls show which of them ran, attempt by attempt.
  const { reopenFailedPayment, createPaymentIntent } = mocks.activities as PaymentActivities;
  const openPaymentIntent: PaymentActivities['openPaymentIntent'] = async (paymentId, options) => {
    await reopenFailedPayment(paymentId);
    return createPaymentIntent(paymentId, options);
  };
  Object.assign(mocks.activities, { openPaymentIntent });
  return mocks;
}

/** A verified Stripe webhook as the API signals it. */
const webhook = (type: string, declineCode: string | null = null) => ({ eventId: `evt_${randomUUID()}`, type, declineCode, message: null });

describe('paymentCapture workflow (mocked activities)', function () {
  const { env, run } = useWorkflowRunner<typeof paymentCapture>({
    type: PAYMENT_CAPTURE_WORKFLOW,
    domain: PAYMENTS_DOMAIN,
    workflowId: (input) => paymentWorkflowId(input.paymentId),
  });
  const payment = (captureMethod: PaymentCaptureInput['captureMethod']): PaymentCaptureInput => ({
    paymentId: randomUUID(),
    captureMethod,
    authorizationTtlHours: TTL_HOURS,
  });

  describe('automatic capture', () => {
    it('payment_intent.succeeded records the capture → succeeded', async () => {
      const input = payment('automatic');
      const mocks = paymentMocks();
      const result = await run([input], mocks, async (handle) => {
        await handle.signal(stripeEventSignal, webhook('payment_intent.succeeded'));
        return handle.result();
      });
      expect(result).to.deep.equal({ paymentId: input.paymentId, status: 'succeeded' });
      expect(mocks.names()).to.deep.equal(['reopenFailedPayment', 'createPaymentIntent', 'recordCapture']);
      expect(mocks.argsOf('recordCapture')).to.deep.equal([[input.paymentId]]);
    });

    it('ignores webhook types that tell no payment outcome', async () => {
      const input = payment('automatic');
      const mocks = paymentMocks();
      const result = await run([input], mocks, async (handle) => {
        await handle.signal(stripeEventSignal, webhook('charge.updated'));
        expect(await handle.query(progressQuery)).to.include({ stage: 'pending' });
        await handle.signal(stripeEventSignal, webhook('payment_intent.succeeded'));
        return handle.result();
      });
      expect(result).to.deep.equal({ paymentId: input.paymentId, status: 'succeeded' });
    });

    it('a decline by webhook cancels the intent and records the decline code → failed', async () => {
      const input = payment('automatic');
      const mocks = paymentMocks();
      const result = await run([input], mocks, async (handle) => {
        await handle.signal(stripeEventSignal, webhook('payment_intent.payment_failed', 'insufficient_funds'));
        return handle.result();
      });
      expect(result).to.deep.equal({ paymentId: input.paymentId, status: 'failed', failureCode: 'insufficient_funds' });
      expect(mocks.argsOf('cancelPaymentIntent')).to.deep.equal([[input.paymentId]]);
      expect(mocks.argsOf('recordPaymentStatus')).to.deep.equal([[input.paymentId, 'failed', { code: 'insufficient_funds', reason: null }]]);
    });

    it('a late decline for an intent Stripe says succeeded after all is recorded captured → succeeded', async () => {
      const input = payment('automatic');
      const mocks = paymentMocks({ cancelPaymentIntent: async () => 'succeeded' });
      const result = await run([input], mocks, async (handle) => {
        await handle.signal(stripeEventSignal, webhook('payment_intent.payment_failed', 'insufficient_funds'));
        return handle.result();
      });
      expect(result).to.deep.equal({ paymentId: input.paymentId, status: 'succeeded' });
      expect(mocks.argsOf('recordCapture')).to.deep.equal([[input.paymentId]]);
      expect(mocks.argsOf('recordPaymentStatus')).to.deep.equal([]);
    });

    it('an expired authorization Stripe says was captured after all is recorded captured → succeeded', async () => {
      const input = payment('automatic');
      const mocks = paymentMocks({ cancelPaymentIntent: async () => 'succeeded' });
      const result = await run([input], mocks);
      expect(result).to.deep.equal({ paymentId: input.paymentId, status: 'succeeded' });
      expect(mocks.argsOf('recordCapture')).to.deep.equal([[input.paymentId]]);
      expect(mocks.argsOf('recordPaymentStatus')).to.deep.equal([]);
    });

    it('a card declined when the intent is created → failed with the code, without retries', async () => {
      const input = payment('automatic');
      const mocks = paymentMocks({
        createPaymentIntent: async () => {
          throw ApplicationFailure.create({ type: CARD_DECLINED_FAILURE, message: 'Your card was declined.', nonRetryable: true, details: ['card_declined'] });
        },
      });
      const result = await run([input], mocks);
      expect(result).to.deep.equal({ paymentId: input.paymentId, status: 'failed', failureCode: 'card_declined' });
      expect(mocks.argsOf('createPaymentIntent')).to.have.length(1);
      expect(mocks.argsOf('cancelPaymentIntent')).to.deep.equal([[input.paymentId]]);
      expect(mocks.argsOf('recordPaymentStatus')).to.deep.equal([
        [input.paymentId, 'failed', { code: 'card_declined', reason: 'Your card was declined.' }],
      ]);
    });

    it('no webhook within the authorization TTL: the intent is canceled → canceled', async () => {
      const input = payment('automatic');
      const mocks = paymentMocks();
      const startedAt = await env().currentTimeMs();
      const result = await run([input], mocks);
      expect(result).to.deep.equal({ paymentId: input.paymentId, status: 'canceled' });
      expect((await env().currentTimeMs()) - startedAt).to.be.at.least(TTL_HOURS * 3600 * 1000);
      expect(mocks.argsOf('cancelPaymentIntent')).to.deep.equal([[input.paymentId]]);
      expect(mocks.argsOf('recordPaymentStatus')).to.deep.equal([
        [input.paymentId, 'canceled', { code: null, reason: 'authorization window expired' }],
      ]);
    });

    it('a cancel update while pending cancels the intent with the given reason → canceled', async () => {
      const input = payment('automatic');
      const mocks = paymentMocks();
      const result = await run([input], mocks, async (handle) => {
        expect(await handle.executeUpdate(cancelUpdate, { args: [{ requestedBy: 'admin-1', reason: 'duplicate order' }] })).to.equal('pending');
        return handle.result();
      });
      expect(result).to.deep.equal({ paymentId: input.paymentId, status: 'canceled' });
      expect(mocks.argsOf('recordPaymentStatus')).to.deep.equal([
        [input.paymentId, 'canceled', { code: null, reason: 'duplicate order' }],
      ]);
    });

    it('Stripe unreachable: the failure is recorded as a processing error and the run fails', async () => {
      const input = payment('automatic');
      const mocks = paymentMocks({ createPaymentIntent: unreachable('connect ECONNREFUSED') });
      const err = await rejectionOf(run([input], mocks));
      expect(err).to.be.instanceOf(WorkflowFailedError);
      expect(mocks.argsOf('createPaymentIntent')).to.have.length(5);
      expect(mocks.argsOf('recordPaymentStatus')).to.deep.equal([
        [input.paymentId, 'failed', { code: 'processing_error', reason: 'payment failed after retries: connect ECONNREFUSED' }],
      ]);
    });
  });

  describe('client secret and server-side confirmation', () => {
    it('the clientSecret Update answers the secret of the intent it created', async () => {
      const input = payment('automatic');
      const mocks = paymentMocks();
      const secret = await run([input], mocks, async (handle) => {
        const answered = await handle.executeUpdate(clientSecretUpdate);
        await handle.signal(stripeEventSignal, webhook('payment_intent.succeeded'));
        await handle.result();
        return answered;
      });
      expect(secret).to.equal('pi_unit_secret_unit');
      expect(mocks.argsOf('createPaymentIntent')).to.deep.equal([[input.paymentId, { serverSide: false }]]);
      expect(mocks.names()).to.not.include('confirmPaymentIntent');
    });

    it('reopens the record and creates the intent in one local activity in the first workflow task, scheduling no activity task', async () => {
      const input = payment('automatic');
      const mocks = paymentMocks();
      const events = await run([input], mocks, async (handle) => {
        await handle.executeUpdate(clientSecretUpdate);
        await handle.signal(stripeEventSignal, webhook('payment_intent.succeeded'));
        await handle.result();
        return (await handle.fetchHistory()).events ?? [];
      });
      // Everything the first workflow task decided is recorded before the second one is scheduled.
      const secondTask = events.findIndex((e, i) => i > 1 && e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
      const localActivities = events.flatMap((e, i) => (e.markerRecordedEventAttributes?.markerName === 'core_local_activity' ? [i] : []));
      expect(localActivities).to.have.length(1);
      expect(localActivities[0], 'its marker in the first task').to.be.below(secondTask);
      const scheduled = events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : []));
      expect(scheduled).to.deep.equal(['recordCapture']);
      expect(mocks.names()).to.deep.equal(['reopenFailedPayment', 'createPaymentIntent', 'recordCapture']);
    });

    it('a run that fails before the intent exists answers the Update with null', async () => {
      const input = payment('automatic');
      const mocks = paymentMocks({
        createPaymentIntent: async () => {
          throw ApplicationFailure.create({ type: CARD_DECLINED_FAILURE, message: 'Your card was declined.', nonRetryable: true, details: ['card_declined'] });
        },
      });
      // The run is let finish: terminated with its activity in flight, it would leave the test server's
      // time skipping stuck for the tests after it.
      const { secret, result } = await run([input], mocks, async (handle) => ({ secret: await handle.executeUpdate(clientSecretUpdate), result: await handle.result() }));
      expect(secret).to.equal(null);
      expect(result.status).to.equal('failed');
    });

    it('with a paymentMethodId the intent is confirmed server-side, then the webhook decides', async () => {
      const input = { ...payment('automatic'), paymentMethodId: 'pm_card_visa' };
      const mocks = paymentMocks();
      const result = await run([input], mocks, async (handle) => {
        await waitFor('the confirmation', async () => (mocks.names().includes('confirmPaymentIntent') ? true : undefined));
        await handle.signal(stripeEventSignal, webhook('payment_intent.succeeded'));
        return handle.result();
      });
      expect(result).to.deep.equal({ paymentId: input.paymentId, status: 'succeeded' });
      expect(mocks.argsOf('createPaymentIntent')).to.deep.equal([[input.paymentId, { serverSide: true }]]);
      expect(mocks.argsOf('confirmPaymentIntent')).to.deep.equal([[input.paymentId, 'pm_card_visa']]);
    });
  });

  describe('manual capture', () => {
    /** Runs a manual payment up to its authorization, then `then`. */
    const authorized = <R>(input: PaymentCaptureInput, mocks: ActivityMocks<PaymentActivities>, then: (handle: Payment) => Promise<R>) =>
      run([input], mocks, async (handle) => {
        await handle.signal(stripeEventSignal, webhook('payment_intent.amount_capturable_updated'));
        await untilStage(handle, 'requires_capture');
        return then(handle);
      });

    it('a capture update captures the authorization → succeeded', async () => {
      const input = payment('manual');
      const mocks = paymentMocks();
      const result = await authorized(input, mocks, async (handle) => {
        expect(await handle.executeUpdate(captureUpdate, { args: [{ requestedBy: 'admin-1' }] })).to.equal('requires_capture');
        return handle.result();
      });
      expect(result).to.deep.equal({ paymentId: input.paymentId, status: 'succeeded' });
      expect(mocks.names()).to.deep.equal([
        'reopenFailedPayment',
        'createPaymentIntent',
        'recordPaymentStatus',
        'capturePaymentIntent',
        'recordCapture',
      ]);
      expect(mocks.argsOf('recordPaymentStatus')).to.deep.equal([[input.paymentId, 'requires_capture']]);
    });

    it('a capture Stripe confirms later by webhook settles on that webhook', async () => {
      const input = payment('manual');
      const mocks = paymentMocks({ capturePaymentIntent: async () => 'processing' });
      const result = await authorized(input, mocks, async (handle) => {
        await handle.executeUpdate(captureUpdate, { args: [{ requestedBy: 'admin-1' }] });
        await handle.signal(stripeEventSignal, webhook('payment_intent.succeeded'));
        return handle.result();
      });
      expect(result).to.deep.equal({ paymentId: input.paymentId, status: 'succeeded' });
      expect(mocks.argsOf('recordCapture')).to.deep.equal([[input.paymentId]]);
    });

    it('refuses a second capture, and a cancel after a capture', async () => {
      const input = payment('manual');
      const mocks = paymentMocks({ capturePaymentIntent: async () => 'processing' });
      const refusals = await authorized(input, mocks, async (handle) => {
        await handle.executeUpdate(captureUpdate, { args: [{ requestedBy: 'admin-1' }] });
        const again = await rejectionOf(handle.executeUpdate(captureUpdate, { args: [{ requestedBy: 'admin-2' }] }));
        const cancel = await rejectionOf(handle.executeUpdate(cancelUpdate, { args: [{ requestedBy: 'admin-2', reason: null }] }));
        await handle.signal(stripeEventSignal, webhook('payment_intent.succeeded'));
        await handle.result();
        return [again, cancel];
      });
      expect(refusals.map(rejection)).to.deep.equal([
        { type: PAYMENT_NOT_CAPTURABLE, message: 'the payment is requires_capture' },
        { type: PAYMENT_NOT_CANCELABLE, message: 'the payment is requires_capture' },
      ]);
      expect(mocks.argsOf('capturePaymentIntent')).to.have.length(1);
    });

    it('an uncaptured authorization is released when the TTL passes → canceled', async () => {
      const input = payment('manual');
      const mocks = paymentMocks();
      const result = await authorized(input, mocks, (handle) => handle.result());
      expect(result).to.deep.equal({ paymentId: input.paymentId, status: 'canceled' });
      expect(mocks.names()).to.not.include('capturePaymentIntent');
      expect(mocks.argsOf('cancelPaymentIntent')).to.deep.equal([[input.paymentId]]);
      expect(mocks.argsOf('recordPaymentStatus').at(-1)).to.deep.equal([
        input.paymentId,
        'canceled',
        { code: null, reason: 'authorization expired uncaptured' },
      ]);
    });

    it('a cancel update releases the authorization → canceled, with the canceller named', async () => {
      const input = payment('manual');
      const mocks = paymentMocks();
      const result = await authorized(input, mocks, async (handle) => {
        await handle.executeUpdate(cancelUpdate, { args: [{ requestedBy: 'admin-1', reason: null }] });
        return handle.result();
      });
      expect(result).to.deep.equal({ paymentId: input.paymentId, status: 'canceled' });
      expect(mocks.argsOf('recordPaymentStatus').at(-1)).to.deep.equal([
        input.paymentId,
        'canceled',
        { code: null, reason: 'canceled by admin-1' },
      ]);
    });

    it('refuses a capture before the authorization, and answers progress pending', async () => {
      const input = payment('manual');
      const mocks = paymentMocks();
      const [err, progress] = await run([input], mocks, async (handle) => {
        const refused = await rejectionOf(handle.executeUpdate(captureUpdate, { args: [{ requestedBy: 'admin-1' }] }));
        const stage = await handle.query(progressQuery);
        await handle.terminate('test done');
        return [refused, stage] as const;
      });
      expect(rejection(err)).to.deep.equal({ type: PAYMENT_NOT_CAPTURABLE, message: 'the payment is pending' });
      expect(progress).to.deep.equal({ stage: 'pending', percent: 20, detail: null });
      expect(mocks.names()).to.not.include('capturePaymentIntent');
    });
  });

  describe('the run canceled (POST /runs/{id}/cancel)', () => {
    /** Cancels the run once its intent exists; answers how the run ended. */
    const cancelAfterIntent = (mocks: ActivityMocks<PaymentActivities>) => async (handle: Payment) => {
      await waitFor('the intent', async () => (mocks.names().includes('createPaymentIntent') ? true : undefined));
      await handle.cancel();
      return rejectionOf(handle.result());
    };

    it('releases the authorization at Stripe, records the payment canceled and ends Canceled', async () => {
      const input = payment('manual');
      const mocks = paymentMocks();
      const err = await run([input], mocks, cancelAfterIntent(mocks));
      expect(err).to.be.instanceOf(WorkflowFailedError);
      expect((err as WorkflowFailedError).cause).to.be.instanceOf(CancelledFailure);
      expect(mocks.argsOf('releaseAuthorization')).to.deep.equal([[input.paymentId]]);
      expect(mocks.argsOf('recordPaymentStatus')).to.deep.equal([[input.paymentId, 'canceled', { reason: 'the run was canceled' }]]);
      expect(mocks.names()).to.not.include('recordCapture');
    });

    it('an intent Stripe says succeeded after all is recorded as captured, and the run still ends Canceled', async () => {
      const input = payment('automatic');
      const mocks = paymentMocks({ releaseAuthorization: async () => 'succeeded' });
      const err = await run([input], mocks, cancelAfterIntent(mocks));
      expect((err as WorkflowFailedError).cause).to.be.instanceOf(CancelledFailure);
      expect(mocks.argsOf('recordCapture')).to.deep.equal([[input.paymentId]]);
      expect(mocks.names()).to.not.include('recordPaymentStatus');
    });
  });
});
