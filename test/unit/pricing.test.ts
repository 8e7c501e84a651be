import { expect } from 'chai';
import { AppError } from '../../lib/errors';
import { priceOf, taxRateOf } from '../../services/payments/pricing';

const base = { currency: 'usd', taxRate: 0, taxInclusive: false, coupon: null, maxCouponPercentage: 50 };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as AppError).code;
  }
  return undefined;
}

describe('pricing: coupons and tax in integer cents', () => {
  it('adds exclusive tax on the discounted amount', () => {
    const price = priceOf({ ...base, amountCents: 10000, taxRate: 0.2, coupon: { percentOff: 10, amountOffCents: null, currency: null } });
    expect(price).to.deep.equal({ discountCents: 1000, taxCents: 1800, totalCents: 10800 });
  });

  it('takes inclusive tax out of the price without changing the total', () => {
    const price = priceOf({ ...base, amountCents: 12000, taxRate: 0.2, taxInclusive: true });
    expect(price).to.deep.equal({ discountCents: 0, taxCents: 2000, totalCents: 12000 });
  });

  it('caps a percentage coupon at PAYMENTS_MAX_COUPON_PERCENTAGE', () => {
    const price = priceOf({ ...base, amountCents: 10000, coupon: { percentOff: 90, amountOffCents: null, currency: null }, maxCouponPercentage: 30 });
    expect(price.discountCents).to.equal(3000);
  });

  it('refuses a fixed coupon in another currency and totals below the Stripe minimum', () => {
    const eur = { percentOff: null, amountOffCents: 500, currency: 'eur' };
    expect(codeOf(() => priceOf({ ...base, amountCents: 10000, coupon: eur }))).to.equal('COUPON_CURRENCY_MISMATCH');
    const all = { percentOff: null, amountOffCents: 10000, currency: 'usd' };
    expect(codeOf(() => priceOf({ ...base, amountCents: 10000, coupon: all }))).to.equal('AMOUNT_BELOW_MINIMUM');
  });

  it('finds a sub-region by its country and refuses unknown regions', () => {
    expect(taxRateOf({ US: 0.05, GB: 0.2 }, 'US-CA')).to.equal(0.05);
    expect(taxRateOf({ GB: 0.2 }, undefined)).to.equal(0);
    expect(codeOf(() => taxRateOf({ GB: 0.2 }, 'JP'))).to.equal('TAX_REGION_UNKNOWN');
  });
});
