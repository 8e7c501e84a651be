import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/payments';
import { applicationFailureOf, causeMessage } from './failures';
import { BOOKKEEPING, LOCAL_STRIPE_CALLS, STRIPE_CALLS } from './paymentActivityOptions';
import {
  cancelUpdate,
  captureUpdate,
  CARD_DECLINED_FAILURE,
  clientSecretUpdate,
  PAYMENT_NOT_CANCELABLE,
  PAYMENT_NOT_CAPTURABLE,
  progressQuery,
  stripeEventSignal,
  type PaymentCaptureInput,
  type PaymentCaptureResult,
  type PaymentStatus,
  type PaymentUpdateRejection,
  type CreatedIntent,
  type StripeEventSignal,
} from './paymentCapture.contract';

const stripeCalls = proxyActivities<PaymentActivities>(STRIPE_CALLS);
const bookkeeping = proxyActivities<PaymentActivities>(BOOKKEEPING);
const localStripeCalls = proxyLocalActivities<PaymentActivities>(LOCAL_STRIPE_CALLS);

/** Stripe's webhook types and the payment status each one means. */
const OUTCOMES: Record<string, PaymentStatus> = {
  'payment_intent.amount_capturable_updated': 'requires_capture',
  'payment_intent.succeeded': 'succeeded',
  'payment_intent.payment_failed': 'failed',
  'payment_intent.canceled': 'canceled',
};

/** Outcomes after which Stripe will not move the payment on by itself. */
const FINAL = new Set<PaymentStatus | null>(['succeeded', 'failed', 'canceled']);

const PERCENT: Record<PaymentStatus, number> = {
  pending: 20,
  requires_capture: 60,
  succeeded: 100,
  canceled: 100,
  failed: 100,
  partially_refunded: 100,
  refunded: 100,
};

export async function paymentCapture(input: PaymentCaptureInput): Promise<PaymentCaptureResult> {
  const { paymentId } = input;
  let status: PaymentStatus = 'pending';
  let detail: string | null = null;
  let latest = null as StripeEventSignal | null;
  let captureRequested = false;
  let cancelRequested = false;
  const seenEvents = new Set<string>();
  let clientSecret: string | null = null;
  /** The intent was created, or the run failed before it could be: the clientSecret Update answers either way. */
  let intentSettled = false;

  setHandler(progressQuery, () => ({ stage: status, percent: PERCENT[status], detail }));
  setHandler(stripeEventSignal, (event) => {
    if (seenEvents.has(event.eventId) || !OUTCOMES[event.type]) return;
    seenEvents.add(event.eventId);
    latest = event;
  });
  setHandler(clientSecretUpdate, async () => {
    await condition(() => intentSettled);
    return clientSecret;
  });
  setHandler(
    captureUpdate,
    (request) => {
      captureRequested = true;
      detail = `capture requested by ${request.requestedBy}`;
      return status;
    },
    {
      validator: (_request) =>
        refuseUnless(status === 'requires_capture' && !captureRequested && !cancelRequested, PAYMENT_NOT_CAPTURABLE, status),
    },
  );
  setHandler(
    cancelUpdate,
    (request) => {
      cancelRequested = true;
      detail = request.reason ?? `canceled by ${request.requestedBy}`;
      return status;
    },
    {
      validator: (_request) =>
        refuseUnless((status === 'pending' || status === 'requires_capture') && !captureRequested && !cancelRequested, PAYMENT_NOT_CANCELABLE, status),
    },
  );

  /** Waits for the next Stripe outcome, a request, or the authorization TTL; false when the TTL passed. */
  const awaitNext = (until: () => boolean) => condition(until, `${input.authorizationTtlHours} hours`);
  const outcome = () => (latest ? OUTCOMES[latest.type] : null);

  const settle = async (decided: PaymentStatus, failureCode: string | null = null): Promise<PaymentCaptureResult> => {
    let final = decided;
    // After a decline Stripe keeps the intent open for another attempt; a payment we record as failed
    // must not be chargeable later. (Added after the first release, hence the patch marker.)
    if (final === 'failed' && patched('cancel-intent-after-decline')) {
      final = chargedAfterAll(await stripeCalls.cancelPaymentIntent(paymentId)) ? 'succeeded' : final;
    }
    if (final === 'succeeded') await bookkeeping.recordCapture(paymentId);
    else await bookkeeping.recordPaymentStatus(paymentId, final, { code: failureCode, reason: detail });
    status = final;
    return failureCode && final !== 'succeeded' ? { paymentId, status, failureCode } : { paymentId, status };
  };

  const cancelAuthorization = async (reason: string) => {
    detail = detail ?? reason;
    const atStripe = await stripeCalls.cancelPaymentIntent(paymentId);
    return settle(chargedAfterAll(atStripe) ? 'succeeded' : 'canceled');
  };

  /** The run was canceled: the authorization is released, unless Stripe says the payment succeeded after all. */
  const settleCanceledRun = async () => {
    detail = 'the run was canceled';
    const atStripe = await stripeCalls.releaseAuthorization(paymentId);
    if (atStripe === 'succeeded') await bookkeeping.recordCapture(paymentId);
    else await bookkeeping.recordPaymentStatus(paymentId, 'canceled', { reason: detail });
    status = atStripe;
  };

  try {
    const created = await createIntent(input);
    // Histories from before the client secret answered a bare intent id here: their secret stays null.
    clientSecret = created.clientSecret ?? null;
    intentSettled = true;
    // Only runs started with a PaymentMethod confirm server-side; the patch marks the new command in their histories.
    if (input.paymentMethodId && patched('confirm-server-side')) await stripeCalls.confirmPaymentIntent(paymentId, input.paymentMethodId);

    // 1. Authorization: Stripe tells us through webhooks; nobody waits forever.
    if (!(await awaitNext(() => outcome() !== null || cancelRequested))) {
      return await cancelAuthorization('authorization window expired');
    }
    if (cancelRequested) return await cancelAuthorization('canceled on request');
    if (outcome() !== 'requires_capture') return await settle(outcome() as PaymentStatus, latest?.declineCode ?? null);

    // 2. Manual capture: on request, or the uncaptured authorization is released when the TTL passes.
    status = 'requires_capture';
    await bookkeeping.recordPaymentStatus(paymentId, 'requires_capture');
    if (!(await awaitNext(() => captureRequested || cancelRequested || FINAL.has(outcome())))) {
      return await cancelAuthorization('authorization expired uncaptured');
    }
    if (cancelRequested) return await cancelAuthorization('canceled on request');
    if (!captureRequested) return await settle(outcome() as PaymentStatus, latest?.declineCode ?? null);

    // 3. Capture, then Stripe confirms (at once with the real API, by webhook with stripe-mock).
    const stripeStatus = await stripeCalls.capturePaymentIntent(paymentId);
    if (stripeStatus === 'succeeded') return await settle('succeeded');
    await condition(() => outcome() !== 'requires_capture');
    return await settle(outcome() as PaymentStatus, latest?.declineCode ?? null);
  } catch (err) {
    intentSettled = true;
    // Added after the first release: runs canceled before it ended Canceled with the payment left pending.
    if (isCancellation(err) && patched('cancellation-cleanup')) {
      await CancellationScope.nonCancellable(() => settleCanceledRun());
      throw err;
    }
    const declined = applicationFailureOf(err, CARD_DECLINED_FAILURE);
    if (declined) {
      detail = declined.message;
      return await settle('failed', String(declined.details?.[0] ?? 'card_declined'));
    }
    detail = `payment failed after retries: ${causeMessage(err)}`;
    await bookkeeping.recordPaymentStatus(paymentId, 'failed', { code: 'processing_error', reason: detail });
    throw err;
  }
}

/**
 * Reopens a payment an earlier run failed on infrastructure, then creates its PaymentIntent. Runs started since
 * the local-activity change do both in one local activity in their first workflow task, which answers the
 * clientSecret Update; older runs replay their two activity tasks (and those from before the reopen step, one).
 */
async function createIntent(input: PaymentCaptureInput): Promise<CreatedIntent> {
  const { paymentId } = input;
  const options = { serverSide: Boolean(input.paymentMethodId) };
  if (patched('intent-in-first-workflow-task')) return localStripeCalls.openPaymentIntent(paymentId, options);
  // Added after the first release: runs started before it carry no marker and skip this step on replay.
  if (patched('reopen-failed-payment-on-replay')) await bookkeeping.reopenFailedPayment(paymentId);
  return stripeCalls.createPaymentIntent(paymentId, options);
}

/**
 * Stripe answered that the intent it was asked to cancel succeeded after all (a late decline
 * after a successful retry, a capture in the dashboard): the customer was charged, so the
 * payment is recorded captured. Added after the first release: runs that canceled before it
 * recorded what they had decided, and replay the same.
 */
function chargedAfterAll(atStripe: 'canceled' | 'succeeded' | undefined): boolean {
  return atStripe === 'succeeded' && patched('read-back-before-closing');
}

/** Rejects an Update with its failure type: validators run only for new Updates, so this is no command and needs no patch. */
function refuseUnless(allowed: boolean, rejection: PaymentUpdateRejection, status: PaymentStatus): void {
  if (!allowed) throw ApplicationFailure.create({ type: rejection, message: `the payment is ${status}`, nonRetryable: true });
}
