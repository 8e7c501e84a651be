import { unprocessable } from '../../lib/errors';

export interface CouponTerms {
  percentOff: number | null;
  amountOffCents: number | null;
  currency: string | null;
}

export interface PriceRequest {
  amountCents: number;
  currency: string;
  taxRate: number;
  taxInclusive: boolean;
  coupon: CouponTerms | null;
  maxCouponPercentage: number;
}

export interface Price {
  discountCents: number;
  taxCents: number;
  totalCents: number;
}

/** Stripe refuses card charges under 50 cents (or pence) in the currencies we take. */
export const MINIMUM_CHARGE_CENTS = 50;

function discountOf(request: PriceRequest): number {
  const { coupon, amountCents } = request;
  if (!coupon) return 0;
  if (coupon.percentOff !== null) {
    // A coupon created under a higher cap still gives no more than today's cap.
    const percent = Math.min(coupon.percentOff, request.maxCouponPercentage);
    return Math.floor((amountCents * percent) / 100);
  }
  if (coupon.currency !== request.currency) {
    throw unprocessable('COUPON_CURRENCY_MISMATCH', `the coupon is in ${coupon.currency}, the payment in ${request.currency}`);
  }
  return Math.min(Number(coupon.amountOffCents), amountCents);
}

/**
 * Discount first, then tax on what remains: added on top when exclusive, or
 * the tax share of the price when inclusive. Integer cents, rounded half up.
 */
export function priceOf(request: PriceRequest): Price {
  const discountCents = discountOf(request);
  const base = request.amountCents - discountCents;
  const taxCents = request.taxInclusive
    ? Math.round((base * request.taxRate) / (1 + request.taxRate))
    : Math.round(base * request.taxRate);
  const totalCents = request.taxInclusive ? base : base + taxCents;
  if (totalCents < MINIMUM_CHARGE_CENTS) {
    throw unprocessable('AMOUNT_BELOW_MINIMUM', `the total must be at least ${MINIMUM_CHARGE_CENTS} cents after discounts`);
  }
  return { discountCents, taxCents, totalCents };
}

/** The rate of a tax region (`GB`, or `US-CA` falling back to `US`). */
export function taxRateOf(table: Record<string, number>, region: string | undefined): number {
  if (!region) return 0;
  const rate = table[region] ?? table[region.split('-')[0]];
  if (rate === undefined) {
    throw unprocessable('TAX_REGION_UNKNOWN', `no tax rate is configured for ${region}`, [{ path: 'body/taxRegion', message: 'unknown region' }]);
  }
  return rate;
}
