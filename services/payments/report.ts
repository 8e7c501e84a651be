// The summary report: what was charged, discounted, taxed and refunded per currency.
import type { Db } from '../../lib/db';
import type { PaymentSettings } from './settings';

interface CurrencySummary {
  gross: number;
  discount: number;
  tax: number;
  refunded: number;
  net: number;
}

/** `from`/`to` as dates are whole local days in the reporting time zone; date-times are instants. */
function windowOf(column: string, from: string, to: string, zone: string) {
  const isDate = (v: string) => v.length === 10;
  const lower = isDate(from) ? `(?::date::timestamp at time zone ?)` : `?::timestamptz`;
  const upper = isDate(to) ? `< ((?::date + 1)::timestamp at time zone ?)` : `<= ?::timestamptz`;
  return {
    sql: `${column} >= ${lower} and ${column} ${upper}`,
    bindings: [from, ...(isDate(from) ? [zone] : []), to, ...(isDate(to) ? [zone] : [])],
  };
}

/** Per currency, what was captured and refunded between `from` and `to` in the reporting time zone. */
export async function summaryReport(db: Db, settings: PaymentSettings, from: string, to: string) {
  const zone = settings.reportingTimezone;
  const captured = windowOf('p.captured_at', from, to, zone);
  const refundedBounds = windowOf('r.succeeded_at', from, to, zone);
  const payments = (await db.raw(
    `select p.currency, sum(p.amount_cents)::bigint as gross, sum(p.discount_cents)::bigint as discount, sum(p.tax_cents)::bigint as tax,
            sum(p.total_cents)::bigint as charged
       from payments p where p.captured_at is not null and ${captured.sql} group by p.currency`,
    captured.bindings,
  )) as { rows: Array<Record<string, string>> };
  const refunds = (await db.raw(
    `select p.currency, sum(r.amount_cents)::bigint as refunded
       from refunds r join payments p on p.id = r.payment_id
      where r.status = 'succeeded' and ${refundedBounds.sql} group by p.currency`,
    refundedBounds.bindings,
  )) as { rows: Array<Record<string, string>> };
  const currencies: Record<string, CurrencySummary> = {};
  const row = (currency: string) => (currencies[currency] ??= { gross: 0, discount: 0, tax: 0, refunded: 0, net: 0 });
  for (const p of payments.rows) Object.assign(row(p.currency), { gross: Number(p.gross), discount: Number(p.discount), tax: Number(p.tax) });
  for (const r of refunds.rows) row(r.currency).refunded = Number(r.refunded);
  for (const [currency, r] of Object.entries(currencies)) {
    const charged = Number(payments.rows.find((p) => p.currency === currency)?.charged ?? 0);
    r.net = charged - r.tax - r.refunded;
  }
  return { timezone: zone, from, to, currencies };
}
