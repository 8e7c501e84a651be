// The summary report: what was charged, discounted, taxed and refunded per currency.
import type { Db } from '../../lib/db';
import type { PaymentSettings } from './settings';

interface CurrencySummary {
  gross: number;
  discount: number;
  tax: number;
  refunded: number;
  disputed: number;
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

type Rows = { rows: Array<Record<string, string>> };

/**
 * Disputes opened in the window and not won (open or lost), and those lost in it:
 * `disputed` shows the first, `net` loses the second.
 */
async function disputeTotals(db: Db, from: string, to: string, zone: string): Promise<{ disputed: Rows; lost: Rows }> {
  const opened = windowOf('d.created_at', from, to, zone);
  const closed = windowOf('d.closed_at', from, to, zone);
  const disputed = (await db.raw(
    `select d.currency, sum(d.amount_cents)::bigint as amount from payment_disputes d
      where d.outcome is distinct from 'won' and d.status not like 'warning%' and ${opened.sql} group by d.currency`,
    opened.bindings,
  )) as Rows;
  const lost = (await db.raw(
    `select d.currency, sum(d.amount_cents)::bigint as amount from payment_disputes d
      where d.outcome = 'lost' and ${closed.sql} group by d.currency`,
    closed.bindings,
  )) as Rows;
  return { disputed, lost };
}

/** Per currency, what was captured, refunded and disputed between `from` and `to` in the reporting time zone. */
export async function summaryReport(db: Db, settings: PaymentSettings, from: string, to: string) {
  const zone = settings.reportingTimezone;
  const captured = windowOf('p.captured_at', from, to, zone);
  const refundedBounds = windowOf('r.succeeded_at', from, to, zone);
  const payments = (await db.raw(
    `select p.currency, sum(p.amount_cents)::bigint as gross, sum(p.discount_cents)::bigint as discount, sum(p.tax_cents)::bigint as tax,
            sum(p.total_cents)::bigint as charged
       from payments p where p.captured_at is not null and ${captured.sql} group by p.currency`,
    captured.bindings,
  )) as Rows;
  const refunds = (await db.raw(
    `select p.currency, sum(r.amount_cents)::bigint as refunded
       from refunds r join payments p on p.id = r.payment_id
      where r.status = 'succeeded' and ${refundedBounds.sql} group by p.currency`,
    refundedBounds.bindings,
  )) as Rows;
  const { disputed, lost } = await disputeTotals(db, from, to, zone);
  const currencies: Record<string, CurrencySummary> = {};
  const row = (currency: string) => (currencies[currency] ??= { gross: 0, discount: 0, tax: 0, refunded: 0, disputed: 0, net: 0 });
  for (const p of payments.rows) Object.assign(row(p.currency), { gross: Number(p.gross), discount: Number(p.discount), tax: Number(p.tax) });
  for (const r of refunds.rows) row(r.currency).refunded = Number(r.refunded);
  for (const d of disputed.rows) row(d.currency).disputed = Number(d.amount);
  for (const d of lost.rows) row(d.currency);
  for (const [currency, r] of Object.entries(currencies)) {
    const charged = Number(payments.rows.find((p) => p.currency === currency)?.charged ?? 0);
    const lostCents = Number(lost.rows.find((d) => d.currency === currency)?.amount ?? 0);
    r.net = charged - r.tax - r.refunded - lostCents;
  }
  return { timezone: zone, from, to, currencies };
}
