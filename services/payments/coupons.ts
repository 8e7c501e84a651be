import type { Knex } from 'knex';
import { Coupon } from '../../db/models/Payment';
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

/** Takes one use of a live coupon, locked so concurrent payments cannot take more uses than it has. */
export async function redeemCoupon(trx: Knex.Transaction, code: string): Promise<Coupon> {
  const coupon = await Coupon.query(trx).findById(code).forUpdate();
  const usable =
    coupon &&
    (!coupon.expiresAt || coupon.expiresAt > new Date()) &&
    (coupon.maxRedemptions === null || coupon.timesRedeemed < coupon.maxRedemptions);
  if (!usable) throw unprocessable('COUPON_INVALID', `coupon ${code} does not exist, has expired or is used up`);
  await Coupon.query(trx).findById(code).increment('timesRedeemed', 1);
  return coupon;
}
