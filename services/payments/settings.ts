import type { Config } from '../../lib/config';
import { unprocessable } from '../../lib/errors';

/** The slice of configuration the payment rules read. */
export interface PaymentSettings {
  allowedCurrencies: readonly string[];
  taxTable: Readonly<Record<string, number>>;
  taxInclusive: boolean;
  defaultTaxRegion: string;
  taxRegionFromRequest: boolean;
  maxCouponPercentage: number;
  reportingTimezone: string;
}

/** The payment rules' view of the configuration, which parseConfig already parsed once at boot. */
export function paymentSettingsOf(config: Config): PaymentSettings {
  return {
    allowedCurrencies: config.PAYMENTS_ALLOWED_CURRENCIES,
    taxTable: config.PAYMENTS_TAX_TABLE,
    taxInclusive: config.PAYMENTS_TAX_INCLUSIVE,
    defaultTaxRegion: config.PAYMENTS_DEFAULT_TAX_REGION,
    taxRegionFromRequest: config.PAYMENTS_TAX_REGION_FROM_REQUEST,
    maxCouponPercentage: config.PAYMENTS_MAX_COUPON_PERCENTAGE,
    reportingTimezone: config.PAYMENTS_REPORTING_TIMEZONE,
  };
}

/** Payments and prices are taken only in the configured currencies. */
export function checkCurrencyAllowed(settings: PaymentSettings, currency: string): void {
  if (!settings.allowedCurrencies.includes(currency)) {
    throw unprocessable('CURRENCY_NOT_ALLOWED', `payments are taken in ${settings.allowedCurrencies.join(',')}`);
  }
}
