// Activities of the payment processes: Stripe calls around the records the
// payments service keeps. Each looks at those records before calling Stripe and
// sends an idempotency key derived from the workflow ID and step, so a retry, a
// crash or a replay days later never charges or refunds twice.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type Stripe from 'stripe';
import type { Db } from '../lib/db';
import type { Payment, Refund } from '../db/models/Payment';
import type { PaymentStatus, ReconciliationResult } from '../schemas/payments';
import { isCardError, isInvalidRequest, type StripeClient } from '../providers/stripe';
import * as payments from '../services/payments';
import { CARD_DECLINED_FAILURE, type CreatedIntent } from '../workflows/paymentCapture.contract';
import { REFUND_REFUSED_FAILURE } from '../workflows/refund.contract';
import { closedLatestRuns } from '../lib/clients/runs';
import { findDrift } from '../services/drift';
import { currentRun, failingRun } from './context';

export interface PaymentActivityDeps {
  db: Db;
  stripe: StripeClient;
  /** The clock (ms since the epoch); tests move it past Stripe's idempotency window instead of waiting. */
  now?: () => number;
}

/**
 * Stripe keeps an idempotency key for 24 hours; past 23 a retried create step first
 * looks for what its earlier attempt may have made. A step's first attempt is never
 * earlier than the record it is for, so the record's age bounds the key's.
 */
const IDEMPOTENCY_WINDOW_MS = 23 * 3600_000;

/** Reconciliation starts a little before the last reconciled point: items Stripe lists late are still seen (anomalies are stored once). */
const RECONCILIATION_OVERLAP_MS = 10 * 60_000;

/** Stripe answers this when canceling an intent already canceled, and one that succeeded: only a read-back tells them apart. */
const UNEXPECTED_STATE = 'payment_intent_unexpected_state';

/** `<workflowId>:<step>`: the same on every attempt of this step, different for every other step. */
function idempotencyKey(step: string): string {
  return `${currentRun().workflowId}:${step}`;
}

/** Card declines become a business outcome; anything else Stripe refused is not worth retrying. */
function classifyStripeError(err: unknown, refusedType: string): never {
  if (isCardError(err)) {
    throw ApplicationFailure.create({
      message: err.message,
      type: CARD_DECLINED_FAILURE,
      nonRetryable: true,
      details: [err.decline_code ?? err.code ?? 'card_declined'],
    });
  }
  if (isInvalidRequest(err)) throw ApplicationFailure.nonRetryable(err.message, refusedType, err.code ?? null);
  throw err;
}

export function createPaymentActivities({ db, stripe, now = Date.now }: PaymentActivityDeps) {
  const pastIdempotencyWindow = (record: { createdAt: Date }) => now() - record.createdAt.getTime() > IDEMPOTENCY_WINDOW_MS;

  async function loadPayment(paymentId: string): Promise<Payment> {
    const payment = await payments.findPayment(db, paymentId);
    if (!payment) throw ApplicationFailure.nonRetryable(`payment ${paymentId} does not exist`, 'PaymentNotFound');
    return payment;
  }

  async function loadRefund(refundId: string): Promise<Refund> {
    const refund = await payments.findRefund(db, refundId);
    if (!refund) throw ApplicationFailure.nonRetryable(`refund ${refundId} does not exist`, 'RefundNotFound');
    return refund;
  }

  /** An intent an earlier attempt created for this payment, found by its metadata (search is Stripe's only index of it). */
  async function intentAlreadyMade(payment: Payment): Promise<Stripe.PaymentIntent | undefined> {
    const found = await stripe.paymentIntents.search({ query: `metadata['paymentId']:'${payment.id}'`, limit: 10 });
    return found.data.find((intent) => intent.metadata?.paymentId === payment.id);
  }

  /**
   * The intent already recorded for this payment is reused; a new one is created only once. `serverSide`: the
   * payment is confirmed by the API with a PaymentMethod, so the intent allows no redirect-based methods.
   */
  async function createPaymentIntent(paymentId: string, options: { serverSide?: boolean } = {}): Promise<CreatedIntent> {
    const payment = await loadPayment(paymentId);
    if (payment.stripePaymentIntentId) return { intentId: payment.stripePaymentIntentId, clientSecret: payment.stripeClientSecret };
    let intent: Stripe.PaymentIntent | undefined = pastIdempotencyWindow(payment) ? await intentAlreadyMade(payment) : undefined;
    try {
      intent ??= await stripe.paymentIntents.create(
        {
          amount: Number(payment.totalCents),
          currency: payment.currency,
          capture_method: payment.captureMethod,
          description: payment.description ?? undefined,
          metadata: { paymentId: payment.id, customerId: payment.customerId },
          automatic_payment_methods: { enabled: true, ...(options.serverSide ? { allow_redirects: 'never' as const } : {}) },
        },
        { idempotencyKey: idempotencyKey('create-intent') },
      );
    } catch (err) {
      classifyStripeError(err, 'StripeRefused');
    }
    const recorded = await payments.attachPaymentIntent(db, paymentId, intent.id, intent.client_secret);
    return { intentId: recorded.stripePaymentIntentId as string, clientSecret: recorded.stripeClientSecret };
  }

  /**
   * The first step of a capture run, one local activity: reopens a payment an earlier run failed on infrastructure
   * (a reset replays it), then creates its PaymentIntent or answers the one already recorded.
   */
  async function openPaymentIntent(paymentId: string, options: { serverSide?: boolean } = {}): Promise<CreatedIntent> {
    await payments.reopenFailedPayment(db, paymentId);
    return createPaymentIntent(paymentId, options);
  }

  /** Confirms the intent server-side with the payer's PaymentMethod; the outcome arrives as a webhook. */
  async function confirmPaymentIntent(paymentId: string, paymentMethodId: string): Promise<string> {
    const payment = await loadPayment(paymentId);
    if (payment.status !== 'pending') return payment.status;
    try {
      const intent = await stripe.paymentIntents.confirm(
        payment.stripePaymentIntentId as string,
        { payment_method: paymentMethodId },
        { idempotencyKey: idempotencyKey('confirm') },
      );
      return intent.status;
    } catch (err) {
      classifyStripeError(err, 'StripeRefused');
    }
  }

  /** Returns Stripe's status after the capture request (`succeeded` with the real API). */
  async function capturePaymentIntent(paymentId: string): Promise<string> {
    const payment = await loadPayment(paymentId);
    if (payment.status === 'succeeded') return 'succeeded';
    try {
      const intent = await stripe.paymentIntents.capture(
        payment.stripePaymentIntentId as string,
        {},
        { idempotencyKey: idempotencyKey('capture') },
      );
      return intent.status;
    } catch (err) {
      classifyStripeError(err, 'StripeRefused');
    }
  }

  /** Cancels the intent at Stripe; an intent that succeeded after all cannot be, and Stripe's word decides. */
  async function cancelAtStripe(intentId: string): Promise<'canceled' | 'succeeded'> {
    try {
      await stripe.paymentIntents.cancel(intentId, {}, { idempotencyKey: idempotencyKey('cancel') });
      return 'canceled';
    } catch (err) {
      if (!(isInvalidRequest(err) && err.code === UNEXPECTED_STATE)) throw err;
      const intent = await stripe.paymentIntents.retrieve(intentId);
      return intent.status === 'succeeded' ? 'succeeded' : 'canceled';
    }
  }

  /**
   * Releases the authorization before a payment is recorded canceled or failed (also
   * when its run was canceled), and answers what Stripe says it became: `succeeded`
   * means the customer was charged and the payment is recorded captured.
   */
  async function cancelPaymentIntent(paymentId: string): Promise<'canceled' | 'succeeded'> {
    const payment = await loadPayment(paymentId);
    if (payment.status === 'succeeded') return 'succeeded';
    if (!payment.stripePaymentIntentId || payment.status === 'canceled') return 'canceled';
    return cancelAtStripe(payment.stripePaymentIntentId);
  }

  /** A refund an earlier attempt made for this refund, found among the PaymentIntent's refunds by its metadata. */
  async function refundAlreadyMade(refund: Refund, intentId: string): Promise<Stripe.Refund | undefined> {
    for await (const made of stripe.refunds.list({ payment_intent: intentId, limit: 100 })) {
      Context.current().heartbeat(made.id);
      if (made.metadata?.refundId === refund.id) return made;
    }
    return undefined;
  }

  async function createStripeRefund(refundId: string): Promise<string> {
    const refund = await loadRefund(refundId);
    if (refund.stripeRefundId) return refund.stripeRefundId;
    const payment = await loadPayment(refund.paymentId);
    const intentId = payment.stripePaymentIntentId as string;
    let created: Stripe.Refund | undefined = pastIdempotencyWindow(refund) ? await refundAlreadyMade(refund, intentId) : undefined;
    try {
      created ??= await stripe.refunds.create(
        {
          payment_intent: intentId,
          amount: Number(refund.amountCents),
          reason: (refund.reason ?? undefined) as Stripe.RefundCreateParams.Reason | undefined,
          metadata: { paymentId: payment.id, refundId },
        },
        { idempotencyKey: idempotencyKey('create-refund') },
      );
    } catch (err) {
      classifyStripeError(err, REFUND_REFUSED_FAILURE);
    }
    if (created.status === 'failed' || created.status === 'canceled') {
      throw ApplicationFailure.nonRetryable(`Stripe ${created.status} the refund`, REFUND_REFUSED_FAILURE);
    }
    await payments.attachStripeRefund(db, refundId, created.id);
    return created.id;
  }

  /** Payment and refund runs closed in the window whose records disagree with them (through the worker's client). */
  async function checkRunRecords(reconciliation: payments.Reconciliation, since: string): Promise<void> {
    const context = Context.current();
    const runs = { closed: (filter: { type: string; since?: string }) => closedLatestRuns(context.client, filter) };
    for (const type of ['paymentCapture', 'refund'] as const) {
      context.heartbeat(`run records: ${type}`);
      for (const drift of await findDrift(db, runs, { type, since })) reconciliation.checkRunRecord(drift);
    }
  }

  /**
   * Pages through Stripe's charges, refunds and disputes since the last reconciled point
   * (`fallbackWindowHours` back on the first run), heartbeating per item, and records what differs.
   */
  async function reconcileStripeWithLedger(fallbackWindowHours: number): Promise<ReconciliationResult> {
    const context = Context.current();
    const runId = context.info.workflowExecution?.runId ?? `activity:${context.info.activityId}`;
    // The step's first scheduling, the same on every retry: when this run began comparing.
    const startedAtMs = context.info.scheduledTimestampMs;
    const window = await payments.reconciliationWindow(db, runId, startedAtMs, fallbackWindowHours * 3600_000, RECONCILIATION_OVERLAP_MS);
    const created = { gte: Math.floor(window.since.getTime() / 1000), lte: Math.ceil(window.until.getTime() / 1000) };
    const reconciliation = payments.startReconciliation(db);
    for await (const charge of stripe.charges.list({ created, limit: 100 })) {
      context.heartbeat(charge.id);
      await reconciliation.checkCharge(charge);
    }
    for await (const refund of stripe.refunds.list({ created, limit: 100 })) {
      context.heartbeat(refund.id);
      await reconciliation.checkRefund(refund);
    }
    for await (const dispute of stripe.disputes.list({ created, limit: 100 })) {
      context.heartbeat(dispute.id);
      await reconciliation.checkDispute(dispute);
    }
    await checkRunRecords(reconciliation, window.since.toISOString());
    return reconciliation.finish(window, runId);
  }

  return {
    createPaymentIntent,
    openPaymentIntent,
    confirmPaymentIntent,
    capturePaymentIntent,
    cancelPaymentIntent,
    /** The name runs canceled before the read-back on every cancel still schedule; the same step. */
    releaseAuthorization: cancelPaymentIntent,
    recordPaymentStatus: (paymentId: string, status: PaymentStatus, failure: payments.PaymentFailure = {}): Promise<void> =>
      // A processing error fails the run after this: it is reported as run.failed with the record.
      payments.recordPaymentStatus(db, paymentId, status, failure, failure.code === 'processing_error' ? failingRun(failure.reason ?? 'processing error') : undefined),
    reopenFailedPayment: (paymentId: string): Promise<void> => payments.reopenFailedPayment(db, paymentId),
    reopenFailedRefund: (refundId: string): Promise<void> => payments.reopenFailedRefund(db, refundId),
    recordCapture: (paymentId: string): Promise<void> => payments.recordCapture(db, paymentId),
    createStripeRefund,
    recordRefund: (refundId: string): Promise<void> => payments.recordRefund(db, refundId),
    /** Stripe refused (the reservation is released) or the infrastructure failed (it is kept for a replay). */
    failRefund: (refundId: string, reason: string, releaseReservation: boolean): Promise<void> =>
      // Kept reservations are infrastructure failures: the run fails after this.
      payments.failRefund(db, refundId, reason, releaseReservation, releaseReservation ? undefined : failingRun(reason)),
    /** The run was canceled: the reservation is released (unless Stripe already refunded). */
    cancelRefund: (refundId: string, reason: string): Promise<'succeeded' | 'canceled'> => payments.cancelRefund(db, refundId, reason),
    reconcileStripeWithLedger,
  };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;
