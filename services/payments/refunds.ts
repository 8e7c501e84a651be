// A refund's record: its amount reserved against the captured remainder when it
// is requested, then settled (or released) by the refund workflow's activities.
import { randomUUID } from 'node:crypto';
import { Payment, Refund } from '../../db/models/Payment';
import type { Db } from '../../lib/db';
import { conflict, notFound, unprocessable } from '../../lib/errors';
import { postRefund, postRefundReversal } from './ledger';
import { recordOutboxEvent, reportRunFailed, type FailedRun } from '../notifications/outbox';
import type { Knex } from 'knex';

export interface RefundRequest {
  paymentId: string;
  idempotencyKey: string;
  amountCents: number | undefined;
  reason: string | null;
  requestedBy: string;
}

export async function findRefund(db: Db, id: string): Promise<Refund | undefined> {
  return await Refund.query(db).findById(id);
}

/**
 * Reserves the refund amount in the transaction that checks the refundable
 * remainder, so concurrent refunds never together exceed the captured amount.
 */
export async function reserveRefund(db: Db, request: RefundRequest): Promise<Refund> {
  const { paymentId, idempotencyKey, amountCents, reason } = request;
  return db.transaction(async (trx) => {
    const payment = await Payment.query(trx).findById(paymentId).forUpdate();
    if (!payment) throw notFound('payment');
    const existing = await Refund.query(trx).findOne({ paymentId, idempotencyKey });
    if (existing) {
      const same = (amountCents === undefined || amountCents === Number(existing.amountCents)) && reason === existing.reason;
      if (!same) throw conflict('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different refund');
      return existing;
    }
    if (payment.status !== 'succeeded' && payment.status !== 'partially_refunded') {
      throw conflict('PAYMENT_NOT_REFUNDABLE', `the payment is ${payment.status}`);
    }
    const reservedRow = await Refund.query(trx).where({ paymentId, reserved: true }).sum('amountCents as reserved').first();
    const reserved = Number((reservedRow as unknown as { reserved: string | null }).reserved ?? 0);
    const remainder = Number(payment.totalCents) - Number(payment.amountRefundedCents) - reserved;
    const requested = amountCents ?? remainder;
    if (requested <= 0 || requested > remainder) {
      throw unprocessable('REFUND_EXCEEDS_CAPTURED', `at most ${remainder} ${payment.currency} cents can still be refunded`, [
        { path: 'body/amountCents', message: `exceeds the refundable remainder of ${remainder}` },
      ]);
    }
    return Refund.query(trx).insertAndFetch({
      id: randomUUID(),
      paymentId,
      idempotencyKey,
      amountCents: requested,
      reason,
      status: 'pending',
      reserved: true,
      requestedBy: request.requestedBy,
    });
  });
}

/** Records Stripe's refund unless an earlier attempt already did. */
export async function attachStripeRefund(db: Db, refundId: string, stripeRefundId: string): Promise<void> {
  await Refund.query(db).findById(refundId).whereNull('stripeRefundId').patch({ stripeRefundId, updatedAt: new Date() });
}

/** A refund that failed on infrastructure still holds its reservation; a replay resumes it. */
export async function reopenFailedRefund(db: Db, refundId: string): Promise<void> {
  await Refund.query(db)
    .findById(refundId)
    .where({ status: 'failed', reserved: true })
    .patch({ status: 'pending', closedStatus: null, failureReason: null, updatedAt: new Date() });
}

/** Turns the reservation into a refunded amount, with its ledger postings, once. */
export async function recordRefund(db: Db, refundId: string): Promise<void> {
  await db.transaction(async (trx) => {
    const refund = await Refund.query(trx).findById(refundId).forUpdate();
    if (!refund || refund.status !== 'pending') return;
    const payment = await Payment.query(trx).findById(refund.paymentId).forUpdate();
    if (!payment) return;
    const refunded = Number(payment.amountRefundedCents) + Number(refund.amountCents);
    await postRefund(trx, payment, refund);
    await Refund.query(trx).findById(refundId).patch({ status: 'succeeded', closedStatus: 'succeeded', reserved: false, succeededAt: new Date(), updatedAt: new Date() });
    await Payment.query(trx)
      .findById(payment.id)
      .patch({
        amountRefundedCents: refunded,
        status: refunded >= Number(payment.totalCents) ? 'refunded' : 'partially_refunded',
        updatedAt: new Date(),
      });
    await reportRefund(trx, refundId, 'refund.succeeded');
  });
}

/** The refund's event, with its body as it is in this transaction. */
async function reportRefund(trx: Knex.Transaction, refundId: string, type: 'refund.succeeded' | 'refund.failed'): Promise<void> {
  const refund = (await Refund.query(trx).findById(refundId)) as Refund;
  await recordOutboxEvent(trx, type, { refund: refund.toView() });
}

/**
 * Stripe refused: the reservation is released. After an infrastructure
 * failure it is kept, since Stripe may have refunded; a replay settles it.
 */
export async function failRefund(db: Db, refundId: string, reason: string, releaseReservation: boolean, failedRun?: FailedRun): Promise<void> {
  await db.transaction(async (trx) => {
    const moved = await Refund.query(trx)
      .findById(refundId)
      .where('status', 'pending')
      .patch({ status: 'failed', closedStatus: 'failed', reserved: !releaseReservation, failureReason: reason, updatedAt: new Date() });
    if (moved > 0) await reportRefund(trx, refundId, 'refund.failed');
    if (failedRun) await reportRunFailed(trx, failedRun);
  });
}

/**
 * The refund's run was canceled: a refund Stripe already made is recorded as made;
 * otherwise the reservation is released and the refund recorded `canceled`.
 */
export async function cancelRefund(db: Db, refundId: string, reason: string): Promise<'succeeded' | 'canceled'> {
  const refund = await Refund.query(db).findById(refundId);
  if (refund?.stripeRefundId) {
    await recordRefund(db, refundId);
    return 'succeeded';
  }
  await Refund.query(db)
    .findById(refundId)
    .where('status', 'pending')
    .patch({ status: 'canceled', reserved: false, failureReason: reason, updatedAt: new Date() });
  return 'canceled';
}

/** What a Stripe refund object tells us, from a `refund.*` or `charge.refunded` webhook. */
export interface StripeRefundSeen {
  id: string;
  status: string | null;
  failureReason: string | null;
  refundId: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function refundOf(db: Db, seen: StripeRefundSeen): Promise<Refund | undefined> {
  if (seen.refundId && UUID.test(seen.refundId)) return Refund.query(db).findById(seen.refundId);
  return Refund.query(db).findOne({ stripeRefundId: seen.id });
}

const paymentStatusAfterRefunds = (refunded: number, total: number) =>
  refunded >= total ? 'refunded' : refunded > 0 ? 'partially_refunded' : 'succeeded';

/**
 * Stripe reports a refund failed (or canceled) after it was made: the refund is
 * marked failed, its amount given back to the payment and the ledger reversed, once.
 * A refund still pending only loses its reservation; other statuses change nothing.
 */
export async function applyStripeRefund(db: Db, seen: StripeRefundSeen): Promise<void> {
  if (seen.status !== 'failed' && seen.status !== 'canceled') return;
  const ours = await refundOf(db, seen);
  if (!ours) return;
  const reason = `Stripe reported the refund ${seen.status}${seen.failureReason ? ` (${seen.failureReason})` : ''}`;
  await db.transaction(async (trx) => {
    const refund = await Refund.query(trx).findById(ours.id).forUpdate();
    if (!refund || (refund.status !== 'succeeded' && refund.status !== 'pending')) return;
    const failed = { status: 'failed', closedStatus: 'failed', reserved: false, failureReason: reason, updatedAt: new Date() } as const;
    if (refund.status === 'pending') {
      await Refund.query(trx).findById(refund.id).patch(failed);
      return;
    }
    const payment = (await Payment.query(trx).findById(refund.paymentId).forUpdate()) as Payment;
    const refunded = Math.max(0, Number(payment.amountRefundedCents) - Number(refund.amountCents));
    await postRefundReversal(trx, payment, refund);
    await Refund.query(trx).findById(refund.id).patch(failed);
    await Payment.query(trx)
      .findById(payment.id)
      .patch({ amountRefundedCents: refunded, status: paymentStatusAfterRefunds(refunded, Number(payment.totalCents)), updatedAt: new Date() });
  });
}

/** A payment's refunds, oldest first. */
export async function refundsOf(db: Db, paymentId: string): Promise<Refund[]> {
  return Refund.query(db).where({ paymentId }).orderBy([{ column: 'createdAt' }, { column: 'id' }]);
}
