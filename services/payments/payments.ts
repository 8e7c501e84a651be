// A payment's record: created once per idempotency key with the server's price,
// then moved through its statuses by the capture workflow's activities.
import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { Payment, type Coupon } from '../../db/models/Payment';
import type { Db } from '../../lib/db';
import { badRequest, conflict, unprocessable } from '../../lib/errors';
import type { CreatePaymentBody, PaymentStatus } from '../../schemas/payments';
import { reserveCoupon, settleCouponUse } from './coupons';
import { postCapture } from './ledger';
import { activePrice } from './prices';
import { priceOf, taxRateOf } from './pricing';
import { checkCurrencyAllowed, type PaymentSettings } from './settings';
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

/** What a create asks for; `staff` (finance, admin) may charge an amount of their own instead of a listed price. */
export interface PaymentRequest {
  body: CreatePaymentBody;
  key: string;
  staff: boolean;
}

/** The payment this key names; a repeat answers the first, another body with the same key is refused. */
export async function createPayment(db: Db, settings: PaymentSettings, request: PaymentRequest): Promise<Payment> {
  checkPriceChoice(request.body, request.staff);
  const hash = requestHash(request.body);
  const existing = await existingPayment(db, request.body.customerId, request.key, hash);
  if (existing) return existing;
  try {
    return await recordPayment(db, settings, request, hash);
  } catch (err) {
    if (!(err instanceof LostInsertRace)) throw err;
    return (await existingPayment(db, request.body.customerId, request.key, hash)) as Payment;
  }
}

/** A learner pays a listed price; staff give a price or an amount with its currency, never both. */
function checkPriceChoice(body: CreatePaymentBody, staff: boolean): void {
  if (!staff && body.amountCents !== undefined) {
    throw unprocessable('PRICE_REQUIRED', 'learners pay a listed price: send a priceId, not an amount', [{ path: 'body/amountCents', message: 'not allowed' }]);
  }
  if (body.priceId !== undefined && (body.amountCents !== undefined || body.currency !== undefined)) {
    throw badRequest('PRICE_AND_AMOUNT', 'give either a priceId or amountCents with currency, not both', [{ path: 'body/priceId', message: 'with an amount' }]);
  }
  if (body.priceId === undefined && body.amountCents === undefined) {
    throw unprocessable('PRICE_REQUIRED', 'send the priceId of a listed price (GET /api/v1/payments/prices)', [{ path: 'body/priceId', message: 'is required' }]);
  }
  if (body.amountCents !== undefined && body.currency === undefined) {
    throw badRequest('CURRENCY_REQUIRED', 'an amountCents needs its currency', [{ path: 'body/currency', message: 'is required' }]);
  }
}

/** Learners are taxed where the settings say; their own region counts only when PAYMENTS_TAX_REGION_FROM_REQUEST allows it. */
function taxRegionOf(settings: PaymentSettings, request: PaymentRequest): string {
  const fromRequest = request.staff || settings.taxRegionFromRequest;
  return (fromRequest ? request.body.taxRegion : undefined) ?? settings.defaultTaxRegion;
}

async function existingPayment(db: Db, customerId: string, key: string, hash: string): Promise<Payment | undefined> {
  const existing = await Payment.query(db).findOne({ customerId, idempotencyKey: key });
  if (existing && existing.requestHash !== hash) {
    throw conflict('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different payment');
  }
  return existing;
}

/** The amount and currency charged: the listed price's, or the ones staff gave. */
async function chargeOf(trx: Db | Knex.Transaction, body: CreatePaymentBody): Promise<{ priceId: string | null; amountCents: number; currency: string; description: string | null }> {
  if (body.priceId === undefined) {
    return { priceId: null, amountCents: body.amountCents as number, currency: body.currency as string, description: body.description ?? null };
  }
  const price = await activePrice(trx, body.priceId);
  return { priceId: price.id, amountCents: Number(price.amountCents), currency: price.currency, description: body.description ?? price.description };
}

/**
 * Prices a new payment and records it with one `insert … returning`; a payment with a coupon reserves a use of it
 * in the same transaction, one without needs none (the price is read once, the insert is atomic by itself).
 */
async function recordPayment(db: Db, settings: PaymentSettings, request: PaymentRequest, hash: string): Promise<Payment> {
  const code = request.body.couponCode;
  if (!code) return insertPayment(db, settings, request, hash, () => Promise.resolve(null));
  return db.transaction((trx) => insertPayment(trx, settings, request, hash, () => reserveCoupon(trx, code)));
}

/** Prices the payment (after its currency is checked, a use of its coupon is reserved) and inserts it. */
async function insertPayment(
  db: Db | Knex.Transaction,
  settings: PaymentSettings,
  request: PaymentRequest,
  hash: string,
  reserve: () => Promise<Coupon | null>,
): Promise<Payment> {
  const { body, key } = request;
  const taxRegion = taxRegionOf(settings, request);
  const taxRate = taxRateOf(settings.taxTable, taxRegion);
  const charge = await chargeOf(db, body);
  checkCurrencyAllowed(settings, charge.currency);
  const coupon = await reserve();
  const price = priceOf({
    amountCents: charge.amountCents,
    currency: charge.currency,
    taxRate,
    taxInclusive: settings.taxInclusive,
    coupon,
    maxCouponPercentage: settings.maxCouponPercentage,
  });
  const rows: Record<string, unknown>[] = await db('payments')
    .insert({
      id: randomUUID(),
      customerId: body.customerId,
      idempotencyKey: key,
      requestHash: hash,
      ...charge,
      ...price,
      taxRegion,
      couponCode: coupon?.code ?? null,
      couponState: coupon ? 'reserved' : null,
      captureMethod: body.captureMethod,
      status: 'pending',
    })
    .onConflict(['customer_id', 'idempotency_key'])
    .ignore()
    .returning('*');
  // A concurrent request with the same key won the insert (in a transaction: this coupon reservation rolls back).
  if (rows.length === 0) throw new LostInsertRace();
  return Payment.fromDatabaseJson(rows[0]);
}

/**
 * Records the payment's PaymentIntent and the client secret its payer confirms with, unless an earlier attempt already
 * did; answers the recorded ones (the update's own row, or the earlier attempt's read back).
 */
export async function attachPaymentIntent(db: Db, paymentId: string, intentId: string, clientSecret: string | null): Promise<Payment> {
  const [attached] = await Payment.query(db)
    .where('id', paymentId)
    .whereNull('stripePaymentIntentId')
    .patch({ stripePaymentIntentId: intentId, stripeClientSecret: clientSecret, updatedAt: new Date() })
    .returning('*');
  return attached ?? ((await findPayment(db, paymentId)) as Payment);
}

const MOVES_FROM: Partial<Record<PaymentStatus, PaymentStatus[]>> = {
  requires_capture: ['pending'],
  canceled: ['pending', 'requires_capture'],
  failed: ['pending', 'requires_capture'],
};

/** Statuses a capture run closes with; `requires_capture` is a step on the way. */
const CLOSING: ReadonlySet<PaymentStatus> = new Set(['canceled', 'failed']);

/**
 * Moves a payment to `status` unless it has already moved on (a retry finds it done); a closing status is also kept as
 * `closedStatus` and reported (payment.failed / payment.canceled) in the same transaction. A decline or a cancel gives
 * its coupon use back; an infrastructure failure keeps it for the replay that reopens the payment.
 */
export async function recordPaymentStatus(db: Db, paymentId: string, status: PaymentStatus, failure: PaymentFailure = {}, failedRun?: FailedRun): Promise<void> {
  const closedStatus = CLOSING.has(status) ? { closedStatus: status } : {};
  await db.transaction(async (trx) => {
    const payment = await Payment.query(trx).findById(paymentId).whereIn('status', MOVES_FROM[status] ?? []).forUpdate();
    if (payment) {
      const moved = await patchPayment(trx, paymentId, { status, ...closedStatus, failureCode: failure.code ?? null, failureReason: failure.reason ?? null });
      if (CLOSING.has(status) && failure.code !== 'processing_error') await settleCouponUse(trx, payment, 'released');
      if (status === 'failed' || status === 'canceled') await reportPayment(trx, moved, `payment.${status}`);
    }
    if (failedRun) await reportRunFailed(trx, failedRun);
  });
}

/** Patches a payment (its row locked by the caller) and answers the row as the patch left it, in one statement. */
async function patchPayment(trx: Knex.Transaction, paymentId: string, patch: Partial<Payment>): Promise<Payment> {
  const [patched] = await Payment.query(trx).where('id', paymentId).patch({ ...patch, updatedAt: new Date() }).returning('*');
  return patched;
}

/** The payment's event, with its GET body as it is in this transaction. */
async function reportPayment(trx: Knex.Transaction, payment: Payment, type: 'payment.succeeded' | 'payment.failed' | 'payment.canceled'): Promise<void> {
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
    await settleCouponUse(trx, payment, 'redeemed');
    const captured = await patchPayment(trx, paymentId, { status: 'succeeded', closedStatus: 'succeeded', capturedAt: new Date() });
    await reportPayment(trx, captured, 'payment.succeeded');
  });
}
