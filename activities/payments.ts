// Activities of the payment processes. Each looks at the platform's own records
// before calling Stripe and sends an idempotency key derived from the workflow
// ID and step, so a retry, a crash or a replay days later never charges or
// refunds twice. Ledger postings are unique per movement and account.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type Stripe from 'stripe';
import type { Knex } from 'knex';
import type { Db } from '../lib/db';
import { LedgerEntry, Payment, ReconciliationAnomaly, Refund } from '../db/models/Payment';
import type { PaymentStatus, ReconciliationResult } from '../schemas/payments';
import { isCardError, isInvalidRequest, type StripeClient } from '../providers/stripe';
import { CARD_DECLINED_FAILURE } from '../workflows/paymentCapture.contract';
import { REFUND_REFUSED_FAILURE } from '../workflows/refund.contract';

export interface PaymentActivityDeps {
  db: Db;
  stripe: StripeClient;
}

/** `<workflowId>:<step>`: the same on every attempt of this step, different for every other step. */
function idempotencyKey(step: string): string {
  const run = Context.current().info.workflowExecution;
  if (!run) throw ApplicationFailure.nonRetryable('payment activities run only inside a workflow', 'NoWorkflowContext');
  return `${run.workflowId}:${step}`;
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

/** Double-entry postings of one money movement, written once whatever the retries. */
async function post(
  trx: Knex.Transaction,
  entryKey: string,
  base: { paymentId: string; refundId?: string; currency: string },
  lines: Array<{ account: string; direction: 'debit' | 'credit'; amountCents: number }>,
): Promise<void> {
  const rows = lines
    .filter((l) => l.amountCents > 0)
    .map((l) => ({ ...base, refundId: base.refundId ?? null, entryKey, ...l }));
  await LedgerEntry.query(trx).insert(rows).onConflict(['entry_key', 'account']).ignore();
}

export function createPaymentActivities({ db, stripe }: PaymentActivityDeps) {
  async function loadPayment(paymentId: string, trx: Knex | Knex.Transaction = db): Promise<Payment> {
    const payment = await Payment.query(trx).findById(paymentId);
    if (!payment) throw ApplicationFailure.nonRetryable(`payment ${paymentId} does not exist`, 'PaymentNotFound');
    return payment;
  }

  async function loadRefund(refundId: string): Promise<Refund> {
    const refund = await Refund.query(db).findById(refundId);
    if (!refund) throw ApplicationFailure.nonRetryable(`refund ${refundId} does not exist`, 'RefundNotFound');
    return refund;
  }

  /** The intent already recorded for this payment is reused; a new one is created only once. */
  async function createPaymentIntent(paymentId: string): Promise<string> {
    const payment = await loadPayment(paymentId);
    if (payment.stripePaymentIntentId) return payment.stripePaymentIntentId;
    let intent: Stripe.PaymentIntent;
    try {
      intent = await stripe.paymentIntents.create(
        {
          amount: Number(payment.totalCents),
          currency: payment.currency,
          capture_method: payment.captureMethod,
          description: payment.description ?? undefined,
          metadata: { paymentId: payment.id, customerId: payment.customerId },
        },
        { idempotencyKey: idempotencyKey('create-intent') },
      );
    } catch (err) {
      classifyStripeError(err, 'StripeRefused');
    }
    await Payment.query(db)
      .findById(paymentId)
      .whereNull('stripePaymentIntentId')
      .patch({ stripePaymentIntentId: intent.id, updatedAt: new Date() });
    return (await loadPayment(paymentId)).stripePaymentIntentId as string;
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

  /** Moves a payment to `status` unless it has already moved on (a retry finds it done). */
  async function recordPaymentStatus(
    paymentId: string,
    status: PaymentStatus,
    failure: { code?: string | null; reason?: string | null } = {},
  ): Promise<void> {
    const from: Record<string, PaymentStatus[]> = {
      requires_capture: ['pending'],
      canceled: ['pending', 'requires_capture'],
      failed: ['pending', 'requires_capture'],
    };
    await Payment.query(db)
      .findById(paymentId)
      .whereIn('status', from[status] ?? [])
      .patch({ status, failureCode: failure.code ?? null, failureReason: failure.reason ?? null, updatedAt: new Date() });
  }

  /**
   * A replayed run picks up a payment that failed on infrastructure (not a
   * decline or a cancel): it is pending again until the run settles it.
   */
  async function reopenFailedPayment(paymentId: string): Promise<void> {
    await Payment.query(db)
      .findById(paymentId)
      .where({ status: 'failed', failureCode: 'processing_error' })
      .patch({ status: 'pending', failureCode: null, failureReason: null, updatedAt: new Date() });
  }

  /** Likewise a refund that failed on infrastructure still holds its reservation; a replay resumes it. */
  async function reopenFailedRefund(refundId: string): Promise<void> {
    await Refund.query(db)
      .findById(refundId)
      .where({ status: 'failed', reserved: true })
      .patch({ status: 'pending', failureReason: null, updatedAt: new Date() });
  }

  /** The capture and its ledger postings land together. */
  async function recordCapture(paymentId: string): Promise<void> {
    await db.transaction(async (trx) => {
      const payment = await Payment.query(trx).findById(paymentId).forUpdate();
      if (!payment || payment.status !== 'pending' && payment.status !== 'requires_capture') return;
      const total = Number(payment.totalCents);
      const tax = Number(payment.taxCents);
      await post(trx, `capture:${paymentId}`, { paymentId, currency: payment.currency }, [
        { account: 'stripe_balance', direction: 'debit', amountCents: total },
        { account: 'revenue', direction: 'credit', amountCents: total - tax },
        { account: 'tax_payable', direction: 'credit', amountCents: tax },
      ]);
      await Payment.query(trx).findById(paymentId).patch({ status: 'succeeded', capturedAt: new Date(), updatedAt: new Date() });
    });
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
    await Refund.query(db).findById(refundId).whereNull('stripeRefundId').patch({ stripeRefundId: created.id, updatedAt: new Date() });
    return created.id;
  }

  /** Turns the reservation into a refunded amount, with its ledger postings, once. */
  async function recordRefund(refundId: string): Promise<void> {
    await db.transaction(async (trx) => {
      const refund = await Refund.query(trx).findById(refundId).forUpdate();
      if (!refund || refund.status !== 'pending') return;
      const payment = await Payment.query(trx).findById(refund.paymentId).forUpdate();
      if (!payment) return;
      const amount = Number(refund.amountCents);
      const refunded = Number(payment.amountRefundedCents) + amount;
      await post(trx, `refund:${refundId}`, { paymentId: payment.id, refundId, currency: payment.currency }, [
        { account: 'refunds', direction: 'debit', amountCents: amount },
        { account: 'stripe_balance', direction: 'credit', amountCents: amount },
      ]);
      await Refund.query(trx).findById(refundId).patch({ status: 'succeeded', reserved: false, succeededAt: new Date(), updatedAt: new Date() });
      await Payment.query(trx)
        .findById(payment.id)
        .patch({
          amountRefundedCents: refunded,
          status: refunded >= Number(payment.totalCents) ? 'refunded' : 'partially_refunded',
          updatedAt: new Date(),
        });
    });
  }

  /**
   * Stripe refused: the reservation is released. After an infrastructure
   * failure it is kept, since Stripe may have refunded; a replay settles it.
   */
  async function failRefund(refundId: string, reason: string, releaseReservation: boolean): Promise<void> {
    await Refund.query(db)
      .findById(refundId)
      .where('status', 'pending')
      .patch({ status: 'failed', reserved: !releaseReservation, failureReason: reason, updatedAt: new Date() });
  }

  /** Compares Stripe's charges and refunds of the window with the ledger and records what differs. */
  async function reconcileStripeWithLedger(windowHours: number): Promise<ReconciliationResult> {
    const context = Context.current();
    const runId = context.info.workflowExecution?.runId ?? null;
    const since = Math.floor(Date.now() / 1000) - windowHours * 3600;
    const found: Array<Partial<ReconciliationAnomaly> & { kind: string; reference: string; detail: string }> = [];
    const chargedPayments = new Set<string>();
    let chargesSeen = 0;
    for await (const charge of stripe.charges.list({ created: { gte: since }, limit: 100 })) {
      context.heartbeat(charge.id);
      chargesSeen += 1;
      const paymentId = charge.metadata?.paymentId;
      const payment = paymentId ? await Payment.query(db).findById(paymentId) : undefined;
      if (!payment) {
        found.push({ kind: 'unknown_charge', reference: charge.id, currency: charge.currency, actualCents: charge.amount, detail: 'a Stripe charge no payment of ours accounts for' });
        continue;
      }
      chargedPayments.add(payment.id);
      if (charge.captured && charge.amount_captured !== Number(payment.totalCents)) {
        found.push({ kind: 'amount_mismatch', reference: charge.id, paymentId: payment.id, currency: charge.currency, expectedCents: Number(payment.totalCents), actualCents: charge.amount_captured, detail: 'captured amount differs from the ledger' });
      }
    }
    let refundsSeen = 0;
    for await (const refund of stripe.refunds.list({ created: { gte: since }, limit: 100 })) {
      context.heartbeat(refund.id);
      refundsSeen += 1;
      const ours = refund.metadata?.refundId ? await Refund.query(db).findById(refund.metadata.refundId) : undefined;
      if (!ours) {
        found.push({ kind: 'unknown_refund', reference: refund.id, currency: refund.currency, actualCents: refund.amount, detail: 'a Stripe refund no refund of ours accounts for' });
      } else if (ours.status !== 'succeeded' || Number(ours.amountCents) !== refund.amount) {
        found.push({ kind: 'refund_mismatch', reference: refund.id, paymentId: ours.paymentId, currency: refund.currency, expectedCents: Number(ours.amountCents), actualCents: refund.amount, detail: `our refund is ${ours.status}` });
      }
    }
    const captured = await Payment.query(db).where('capturedAt', '>=', new Date(since * 1000)).whereNotNull('capturedAt');
    for (const payment of captured) {
      if (!chargedPayments.has(payment.id)) {
        found.push({ kind: 'missing_charge', reference: payment.id, paymentId: payment.id, currency: payment.currency, expectedCents: Number(payment.totalCents), detail: 'the ledger has a capture Stripe did not list' });
      }
    }
    for (const anomaly of found) {
      await ReconciliationAnomaly.query(db)
        .insert({ ...anomaly, lastRunId: runId, lastSeenAt: new Date() })
        .onConflict(['kind', 'reference'])
        .merge(['detail', 'expected_cents', 'actual_cents', 'last_run_id', 'last_seen_at']);
    }
    return { chargesSeen, refundsSeen, anomalies: found.length };
  }

  return {
    createPaymentIntent,
    capturePaymentIntent,
    cancelPaymentIntent,
    recordPaymentStatus,
    reopenFailedPayment,
    reopenFailedRefund,
    recordCapture,
    createStripeRefund,
    recordRefund,
    failRefund,
    reconcileStripeWithLedger,
  };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;
