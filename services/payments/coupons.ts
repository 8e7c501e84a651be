import type { Knex } from 'knex';
import { raw } from 'objection';
import { Coupon, type Payment } from '../../db/models/Payment';
import type { Db } from '../../lib/db';
import { conflict, notFound, unprocessable } from '../../lib/errors';
import type { CreateCouponBody } from '../../schemas/payments';
import { recordAuditEvent, type AuditContext } from '../audit';
import type { PaymentSettings } from './settings';

/** A coupon gives either a percentage, or a fixed amount in one currency, never above the configured cap. */
function checkTerms(terms: CreateCouponBody, maxPercentage: number): void {
  const fixed = terms.amountOffCents !== undefined;
  if (fixed === (terms.percentOff !== undefined) || fixed !== (terms.currency !== undefined)) {
    throw unprocessable('COUPON_TERMS_INVALID', 'give either percentOff, or amountOffCents with its currency');
  }
  if ((terms.percentOff ?? 0) > maxPercentage) {
    throw unprocessable('COUPON_EXCEEDS_MAX', `coupons give at most ${maxPercentage}% off`);
  }
}

/** Creates a coupon and its `coupon.create` audit row in one transaction. */
export async function createCoupon(db: Db, settings: PaymentSettings, body: CreateCouponBody, by: AuditContext): Promise<Coupon> {
  const { reason, ...terms } = body;
  checkTerms(terms, settings.maxCouponPercentage);
  return db.transaction(async (trx) => {
    const rows = await trx('coupons')
      .insert({
        code: terms.code,
        percentOff: terms.percentOff ?? null,
        amountOffCents: terms.amountOffCents ?? null,
        currency: terms.currency ?? null,
        maxRedemptions: terms.maxRedemptions ?? null,
        expiresAt: terms.expiresAt ? new Date(terms.expiresAt) : null,
      })
      .onConflict('code')
      .ignore()
      .returning('code');
    if (rows.length === 0) throw conflict('COUPON_EXISTS', `coupon ${terms.code} already exists`);
    const coupon = await couponByCode(trx, terms.code);
    await recordAuditEvent(trx, { ...by, action: 'coupon.create', target: `coupon:${terms.code}`, reason, after: coupon.toView() }, 'succeeded');
    return coupon;
  });
}

export async function couponByCode(db: Db, code: string): Promise<Coupon> {
  const coupon = await Coupon.query(db).findById(code);
  if (!coupon) throw notFound('coupon');
  return coupon;
}

/**
 * Holds one use of a live coupon for a new payment. The condition is part of the
 * UPDATE, which Postgres re-checks on the row it waited for: two payments can never
 * both take the last use.
 */
export async function reserveCoupon(trx: Knex.Transaction, code: string): Promise<Coupon> {
  const [taken] = await Coupon.query(trx)
    .where({ code })
    .whereRaw('(expires_at IS NULL OR expires_at > now())')
    .whereRaw('(max_redemptions IS NULL OR times_redeemed + times_reserved < max_redemptions)')
    .patch({ timesReserved: raw('times_reserved + 1') })
    .returning('*');
  if (taken) return taken;
  // Not taken: the row tells a used-up coupon from an unknown or expired one.
  const coupon = await Coupon.query(trx).findById(code);
  if (coupon && (!coupon.expiresAt || coupon.expiresAt > new Date())) {
    throw unprocessable('COUPON_EXHAUSTED', `coupon ${code} has no uses left`);
  }
  throw unprocessable('COUPON_INVALID', `coupon ${code} does not exist or has expired`);
}

type CouponState = Payment['couponState'];

/** How the coupon's counters move when a payment's use goes from one state to another. */
const COUNTER_MOVES: Record<string, { reserved: number; redeemed: number }> = {
  'reserved>redeemed': { reserved: -1, redeemed: 1 },
  'reserved>released': { reserved: -1, redeemed: 0 },
  // Stripe took the money after all (a payment recorded canceled or failed turned out captured).
  'released>redeemed': { reserved: 0, redeemed: 1 },
};

/** Settles the coupon use of a payment (locked by the caller): redeemed when it succeeds, released when it fails or is canceled. */
export async function settleCouponUse(trx: Knex.Transaction, payment: Payment, to: 'redeemed' | 'released'): Promise<void> {
  const from: CouponState = payment.couponState;
  const move = COUNTER_MOVES[`${from}>${to}`];
  if (!payment.couponCode || !move) return;
  await trx('payments').where({ id: payment.id }).update({ couponState: to });
  await trx('coupons')
    .where({ code: payment.couponCode })
    .update({
      timesReserved: trx.raw('times_reserved + ?', [move.reserved]),
      timesRedeemed: trx.raw('times_redeemed + ?', [move.redeemed]),
    });
}
