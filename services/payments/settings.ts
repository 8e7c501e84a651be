import { listOf, type Config } from '../../lib/config';

/** The slice of configuration the payment rules read, parsed once per configuration. */
export interface PaymentSettings {
  allowedCurrencies: string[];
  taxTable: Record<string, number>;
  taxInclusive: boolean;
  maxCouponPercentage: number;
  reportingTimezone: string;
}

const parsed = new WeakMap<Config, PaymentSettings>();

export function paymentSettingsOf(config: Config): PaymentSettings {
  let settings = parsed.get(config);
  if (!settings) {
    settings = {
      allowedCurrencies: listOf(config.PAYMENTS_ALLOWED_CURRENCIES),
      taxTable: JSON.parse(config.PAYMENTS_TAX_TABLE) as Record<string, number>,
      taxInclusive: config.PAYMENTS_TAX_INCLUSIVE,
      maxCouponPercentage: config.PAYMENTS_MAX_COUPON_PERCENTAGE,
      reportingTimezone: config.PAYMENTS_REPORTING_TIMEZONE,
    };
    parsed.set(config, settings);
  }
  return settings;
}
