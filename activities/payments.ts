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
import { currentRun } from './context';

export interface PaymentActivityDeps {
  db: Db;
  stripe: StripeClient;
}

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

export function createPaymentActivities({ db, stripe }: PaymentActivityDeps) {
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

  /**
   * The intent already recorded for this payment is reused; a new one is created only once. `serverSide`: the
   * payment is confirmed by the API with a PaymentMethod, so the intent allows no redirect-based methods.
   */
  async function createPaymentIntent(paymentId: string, options: { serverSide?: boolean } = {}): Promise<CreatedIntent> {
    const payment = await loadPayment(paymentId);
    if (payment.stripePaymentIntentId) return { intentId: payment.stripePaymentIntentId, clientSecret: payment.stripeClientSecret };
    let intent: Stripe.PaymentIntent;
    try {
      intent = await stripe.paymentIntents.create(
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
    await payments.attachPaymentIntent(db, paymentId, intent.id, intent.client_secret);
    const recorded = await loadPayment(paymentId);
    return { intentId: recorded.stripePaymentIntentId as string, clientSecret: recorded.stripeClientSecret };
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

  async function cancelPaymentIntent(paymentId: string): Promise<void> {
    const payment = await loadPayment(paymentId);
    if (!payment.stripePaymentIntentId || payment.status === 'canceled') return;
    try {
      await stripe.paymentIntents.cancel(payment.stripePaymentIntentId, {}, { idempotencyKey: idempotencyKey('cancel') });
    } catch (err) {
      // Already canceled (or never confirmed) at Stripe: the authorization is gone either way.
      if (isInvalidRequest(err) && err.code === 'payment_intent_unexpected_state') return;
      throw err;
    }
  }

  /**
   * The run was canceled: the authorization is released at Stripe. An intent that
   * succeeded after all cannot be canceled, so Stripe's word decides what is recorded.
   */
  async function releaseAuthorization(paymentId: string): Promise<'canceled' | 'succeeded'> {
    const payment = await loadPayment(paymentId);
    if (payment.status === 'succeeded') return 'succeeded';
    if (!payment.stripePaymentIntentId || payment.status === 'canceled') return 'canceled';
    try {
      await stripe.paymentIntents.cancel(payment.stripePaymentIntentId, {}, { idempotencyKey: idempotencyKey('cancel') });
      return 'canceled';
    } catch (err) {
      if (!(isInvalidRequest(err) && err.code === 'payment_intent_unexpected_state')) throw err;
      const intent = await stripe.paymentIntents.retrieve(payment.stripePaymentIntentId);
      return intent.status === 'succeeded' ? 'succeeded' : 'canceled';
    }
  }

  async function createStripeRefund(refundId: string): Promise<string> {
    const refund = await loadRefund(refundId);
    if (refund.stripeRefundId) return refund.stripeRefundId;
    const payment = await loadPayment(refund.paymentId);
    let created: Stripe.Refund;
    try {
      created = await stripe.refunds.create(
        {
          payment_intent: payment.stripePaymentIntentId as string,
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

  /** Pages through Stripe's charges and refunds of the window, heartbeating per item, and records what differs. */
  async function reconcileStripeWithLedger(windowHours: number): Promise<ReconciliationResult> {
    const context = Context.current();
    const since = Math.floor(Date.now() / 1000) - windowHours * 3600;
    const reconciliation = payments.startReconciliation(db);
    for await (const charge of stripe.charges.list({ created: { gte: since }, limit: 100 })) {
      context.heartbeat(charge.id);
      await reconciliation.checkCharge(charge);
    }
    for await (const refund of stripe.refunds.list({ created: { gte: since }, limit: 100 })) {
      context.heartbeat(refund.id);
      await reconciliation.checkRefund(refund);
    }
    await checkRunRecords(reconciliation, new Date(since * 1000).toISOString());
    return reconciliation.finish(new Date(since * 1000), context.info.workflowExecution?.runId ?? null);
  }

  return {
    createPaymentIntent,
    confirmPaymentIntent,
    capturePaymentIntent,
    cancelPaymentIntent,
    releaseAuthorization,
    recordPaymentStatus: (paymentId: string, status: PaymentStatus, failure: payments.PaymentFailure = {}): Promise<void> =>
      payments.recordPaymentStatus(db, paymentId, status, failure),
    reopenFailedPayment: (paymentId: string): Promise<void> => payments.reopenFailedPayment(db, paymentId),
    reopenFailedRefund: (refundId: string): Promise<void> => payments.reopenFailedRefund(db, refundId),
    recordCapture: (paymentId: string): Promise<void> => payments.recordCapture(db, paymentId),
    createStripeRefund,
    recordRefund: (refundId: string): Promise<void> => payments.recordRefund(db, refundId),
    /** Stripe refused (the reservation is released) or the infrastructure failed (it is kept for a replay). */
    failRefund: (refundId: string, reason: string, releaseReservation: boolean): Promise<void> =>
      payments.failRefund(db, refundId, reason, releaseReservation),
    /** The run was canceled: the reservation is released (unless Stripe already refunded). */
    cancelRefund: (refundId: string, reason: string): Promise<'succeeded' | 'canceled'> => payments.cancelRefund(db, refundId, reason),
    reconcileStripeWithLedger,
  };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;
