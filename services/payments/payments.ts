// A payment's record: created once per idempotency key with the server's price,
// then moved through its statuses by the capture workflow's activities.
import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { Payment } from '../../db/models/Payment';
import type { Db } from '../../lib/db';
import { conflict, unprocessable } from '../../lib/errors';
import type { CreatePaymentBody, PaymentStatus } from '../../schemas/payments';
import { redeemCoupon } from './coupons';
import { postCapture } from './ledger';
import { priceOf, taxRateOf } from './pricing';
import type { PaymentSettings } from './settings';
import { recordOutboxEvent, reportRunFailed, type FailedRun } from '../notifications/outbox';

export interface PaymentFailure {
  code?: string | null;
  reason?: string | null;
}

const requestHash = (body: unknown) => createHash('sha256').update(JSON.stringify(body)).digest('hex');

class LostInsertRace extends Error {}

export async function findPayment(db: Db | Knex.Transaction, id: string): Promise<Payment | undefined> {
  return await Payment.query(db).findById(id);
}

/** The payment this key names; a repeat answers the first, another body with the same key is refused. */
export async function createPayment(db: Db, settings: PaymentSettings, body: CreatePaymentBody, key: string): Promise<Payment> {
  const hash = requestHash(body);
  const existing = await existingPayment(db, body.customerId, key, hash);
  if (existing) return existing;
  try {
    return await recordPayment(db, settings, body, key, hash);
  } catch (err) {
    if (!(err instanceof LostInsertRace)) throw err;
    return (await existingPayment(db, body.customerId, key, hash)) as Payment;
  }
}

async function existingPayment(db: Db, customerId: string, key: string, hash: string): Promise<Payment | undefined> {
  const existing = await Payment.query(db).findOne({ customerId, idempotencyKey: key });
  if (existing && existing.requestHash !== hash) {
    throw conflict('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different payment');
  }
  return existing;
}

/** Prices a new payment and records it, redeeming its coupon, in one transaction. */
async function recordPayment(db: Db, settings: PaymentSettings, body: CreatePaymentBody, key: string, hash: string): Promise<Payment> {
  if (!settings.allowedCurrencies.includes(body.currency)) {
    throw unprocessable('CURRENCY_NOT_ALLOWED', `payments are taken in ${settings.allowedCurrencies.join(',')}`);
  }
  const taxRate = taxRateOf(settings.taxTable, body.taxRegion);
  return db.transaction(async (trx) => {
    const coupon = body.couponCode ? await redeemCoupon(trx, body.couponCode) : null;
    const price = priceOf({
      amountCents: body.amountCents,
      currency: body.currency,
      taxRate,
      taxInclusive: settings.taxInclusive,
      coupon,
      maxCouponPercentage: settings.maxCouponPercentage,
    });
    const rows = await trx('payments')
      .insert({
        id: randomUUID(),
        customerId: body.customerId,
        idempotencyKey: key,
        requestHash: hash,
        amountCents: body.amountCents,
        currency: body.currency,
        ...price,
        taxRegion: body.taxRegion ?? null,
        couponCode: coupon?.code ?? null,
        description: body.description ?? null,
        captureMethod: body.captureMethod,
        status: 'pending',
      })
      .onConflict(['customer_id', 'idempotency_key'])
      .ignore()
      .returning('id');
    // A concurrent request with the same key won the insert: roll back this coupon redemption.
    if (rows.length === 0) throw new LostInsertRace();
    return (await findPayment(trx, rows[0].id)) as Payment;
  });
}

/** Records the payment's PaymentIntent unless an earlier attempt already did. */
export async function attachPaymentIntent(db: Db, paymentId: string, intentId: string): Promise<void> {
  await Payment.query(db).findById(paymentId).whereNull('stripePaymentIntentId').patch({ stripePaymentIntentId: intentId, updatedAt: new Date() });
}

const MOVES_FROM: Partial<Record<PaymentStatus, PaymentStatus[]>> = {
  requires_capture: ['pending'],
  canceled: ['pending', 'requires_capture'],
  failed: ['pending', 'requires_capture'],
};

/** Statuses a capture run closes with; `requires_capture` is a step on the way. */
const CLOSING: ReadonlySet<PaymentStatus> = new Set(['canceled', 'failed']);

/**
 * Moves a payment to `status` unless it has already moved on (a retry finds it done); a closing
 * status is also kept as `closedStatus` and reported (payment.failed / payment.canceled) in the same transaction.
 */
export async function recordPaymentStatus(db: Db, paymentId: string, status: PaymentStatus, failure: PaymentFailure = {}, failedRun?: FailedRun): Promise<void> {
  const closedStatus = CLOSING.has(status) ? { closedStatus: status } : {};
  await db.transaction(async (trx) => {
    const moved = await Payment.query(trx)
      .findById(paymentId)
      .whereIn('status', MOVES_FROM[status] ?? [])
      .patch({ status, ...closedStatus, failureCode: failure.code ?? null, failureReason: failure.reason ?? null, updatedAt: new Date() });
    if (moved > 0 && (status === 'failed' || status === 'canceled')) await reportPayment(trx, paymentId, `payment.${status}`);
    if (failedRun) await reportRunFailed(trx, failedRun);
  });
}

/** The payment's event, with its GET body as it is in this transaction. */
async function reportPayment(trx: Knex.Transaction, paymentId: string, type: 'payment.succeeded' | 'payment.failed' | 'payment.canceled'): Promise<void> {
  const payment = (await findPayment(trx, paymentId)) as Payment;
  await recordOutboxEvent(trx, type, { payment: payment.toView() });
}

/**
 * A replayed run picks up a payment that failed on infrastructure (not a
 * decline or a cancel): it is pending again until the run settles it.
 */
export async function reopenFailedPayment(db: Db, paymentId: string): Promise<void> {
  await Payment.query(db)
    .findById(paymentId)
    .where({ status: 'failed', failureCode: 'processing_error' })
    .patch({ status: 'pending', closedStatus: null, failureCode: null, failureReason: null, updatedAt: new Date() });
}

/** The capture and its ledger postings land together. */
export async function recordCapture(db: Db, paymentId: string): Promise<void> {
  await db.transaction(async (trx) => {
    const payment = await Payment.query(trx).findById(paymentId).forUpdate();
    if (!payment || (payment.status !== 'pending' && payment.status !== 'requires_capture')) return;
    await postCapture(trx, payment);
    await Payment.query(trx).findById(paymentId).patch({ status: 'succeeded', closedStatus: 'succeeded', capturedAt: new Date(), updatedAt: new Date() });
    await reportPayment(trx, paymentId, 'payment.succeeded');
  });
}
