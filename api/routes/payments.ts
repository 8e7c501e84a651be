import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { Coupon, Payment, ReconciliationAnomaly, Refund } from '../../db/models/Payment';
import { listOf } from '../../lib/config';
import { badRequest, conflict, forbidden, notFound, unprocessable } from '../../lib/errors';
import { decodeCursor, page } from '../../lib/pagination';
import { priceOf, taxRateOf } from '../../lib/pricing';
import { cancelPayment, capturePayment, paymentCaptureRun, startPaymentCapture, startRefund } from '../../lib/clients/payments';
import { IdParams, IdempotencyKey, type Run } from '../../schemas/common';
import {
  AnomalyList,
  AnomalyQuery,
  CouponParams,
  CouponResponse,
  CreateCouponBody,
  CreatePaymentBody,
  CreateRefundBody,
  PaymentActionBody,
  PaymentResponse,
  RefundResponse,
  ReportQuery,
  ReportResponse,
} from '../../schemas/payments';
import { PAYMENT_CAPTURE_WORKFLOW } from '../../workflows/paymentCapture.contract';
import { REFUND_WORKFLOW } from '../../workflows/refund.contract';
import type { AppDeps } from '../deps';
import { hasRole, type Principal } from '../middleware/auth';
import { defineRoute } from '../route';

const MONEY_ROLES = ['finance', 'admin'] as const;
const IDEMPOTENCY_HEADER = [
  { name: 'Idempotency-Key', required: true, description: 'the same key returns the same payment or refund (≤ 200 of [A-Za-z0-9._:-])' },
];

function idempotencyKeyOf(headers: Record<string, string | string[] | undefined>): string {
  const key = headers['idempotency-key'];
  if (typeof key !== 'string' || key.length === 0) {
    throw badRequest('IDEMPOTENCY_KEY_REQUIRED', 'send an Idempotency-Key header');
  }
  if (!new RegExp(IdempotencyKey.pattern as string).test(key)) {
    throw badRequest('IDEMPOTENCY_KEY_INVALID', 'the Idempotency-Key must be 1–200 of [A-Za-z0-9._:-]', [
      { path: 'headers/idempotency-key', message: 'is invalid' },
    ]);
  }
  return key;
}

const requestHash = (body: unknown) => createHash('sha256').update(JSON.stringify(body)).digest('hex');

async function findPayment(db: Knex, id: string, principal: Principal): Promise<Payment> {
  const payment = await Payment.query(db).findById(id);
  const ownOnly = !hasRole(principal, 'support', 'finance', 'admin');
  if (!payment || (ownOnly && payment.customerId !== principal.sub)) throw notFound('payment');
  return payment;
}

function startCapture(deps: AppDeps, payment: Payment): Promise<Run> {
  deps.metrics.workflowStarts.inc({ type: PAYMENT_CAPTURE_WORKFLOW });
  return startPaymentCapture(
    deps.temporal,
    deps.config,
    { paymentId: payment.id, captureMethod: payment.captureMethod, authorizationTtlHours: deps.config.PAYMENTS_AUTHORIZATION_TTL_HOURS },
    `${payment.captureMethod} payment of ${payment.totalCents} ${payment.currency} by ${payment.customerId}`,
  );
}

const paymentRun = (deps: AppDeps, paymentId: string) => paymentCaptureRun(deps.temporal, deps.config, paymentId);

class LostInsertRace extends Error {}

/** Prices a new payment and records it, redeeming its coupon, in one transaction. */
async function recordPayment(deps: AppDeps, body: CreatePaymentBody, key: string, hash: string): Promise<Payment> {
  const { config } = deps;
  if (!listOf(config.PAYMENTS_ALLOWED_CURRENCIES).includes(body.currency)) {
    throw unprocessable('CURRENCY_NOT_ALLOWED', `payments are taken in ${config.PAYMENTS_ALLOWED_CURRENCIES}`);
  }
  const taxRate = taxRateOf(JSON.parse(config.PAYMENTS_TAX_TABLE) as Record<string, number>, body.taxRegion);
  return deps.db.transaction(async (trx) => {
    const coupon = body.couponCode ? await redeemCoupon(trx, body.couponCode) : null;
    const price = priceOf({
      amountCents: body.amountCents,
      currency: body.currency,
      taxRate,
      taxInclusive: config.PAYMENTS_TAX_INCLUSIVE,
      coupon,
      maxCouponPercentage: config.PAYMENTS_MAX_COUPON_PERCENTAGE,
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
    return (await Payment.query(trx).findById(rows[0].id)) as Payment;
  });
}

async function redeemCoupon(trx: Knex.Transaction, code: string): Promise<Coupon> {
  const coupon = await Coupon.query(trx).findById(code).forUpdate();
  const usable =
    coupon &&
    (!coupon.expiresAt || coupon.expiresAt > new Date()) &&
    (coupon.maxRedemptions === null || coupon.timesRedeemed < coupon.maxRedemptions);
  if (!usable) throw unprocessable('COUPON_INVALID', `coupon ${code} does not exist, has expired or is used up`);
  await Coupon.query(trx).findById(code).increment('timesRedeemed', 1);
  return coupon;
}

async function existingPayment(db: Knex, customerId: string, key: string, hash: string): Promise<Payment | undefined> {
  const existing = await Payment.query(db).findOne({ customerId, idempotencyKey: key });
  if (existing && existing.requestHash !== hash) {
    throw conflict('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different payment');
  }
  return existing;
}

/** Sends a capture or cancel Update; the workflow's validator decides against its own state. */
async function requestChange(deps: AppDeps, payment: Payment, change: 'capture' | 'cancel', principal: Principal, reason: string | null) {
  if (change === 'capture') await capturePayment(deps.temporal, payment, principal.sub);
  else await cancelPayment(deps.temporal, payment, principal.sub, reason);
}

/** Reserves the refund amount in the transaction that checks the refundable remainder. */
async function reserveRefund(deps: AppDeps, paymentId: string, key: string, amount: number | undefined, reason: string | null, by: string) {
  return deps.db.transaction(async (trx) => {
    const payment = await Payment.query(trx).findById(paymentId).forUpdate();
    if (!payment) throw notFound('payment');
    const existing = await Refund.query(trx).findOne({ paymentId, idempotencyKey: key });
    if (existing) {
      const same = (amount === undefined || amount === Number(existing.amountCents)) && reason === existing.reason;
      if (!same) throw conflict('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different refund');
      return existing;
    }
    if (payment.status !== 'succeeded' && payment.status !== 'partially_refunded') {
      throw conflict('PAYMENT_NOT_REFUNDABLE', `the payment is ${payment.status}`);
    }
    const reservedRow = await Refund.query(trx).where({ paymentId, reserved: true }).sum('amountCents as reserved').first();
    const reserved = Number((reservedRow as unknown as { reserved: string | null }).reserved ?? 0);
    const remainder = Number(payment.totalCents) - Number(payment.amountRefundedCents) - reserved;
    const requested = amount ?? remainder;
    if (requested <= 0 || requested > remainder) {
      throw unprocessable('REFUND_EXCEEDS_CAPTURED', `at most ${remainder} ${payment.currency} cents can still be refunded`, [
        { path: 'body/amountCents', message: `exceeds the refundable remainder of ${remainder}` },
      ]);
    }
    return Refund.query(trx).insertAndFetch({
      id: randomUUID(),
      paymentId,
      idempotencyKey: key,
      amountCents: requested,
      reason,
      status: 'pending',
      reserved: true,
      requestedBy: by,
    });
  });
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

async function summaryReport(deps: AppDeps, from: string, to: string) {
  const zone = deps.config.PAYMENTS_REPORTING_TIMEZONE;
  const captured = windowOf('p.captured_at', from, to, zone);
  const refundedBounds = windowOf('r.succeeded_at', from, to, zone);
  const payments = (await deps.db.raw(
    `select p.currency, sum(p.amount_cents)::bigint as gross, sum(p.discount_cents)::bigint as discount, sum(p.tax_cents)::bigint as tax,
            sum(p.total_cents)::bigint as charged
       from payments p where p.captured_at is not null and ${captured.sql} group by p.currency`,
    captured.bindings,
  )) as { rows: Array<Record<string, string>> };
  const refunds = (await deps.db.raw(
    `select p.currency, sum(r.amount_cents)::bigint as refunded
       from refunds r join payments p on p.id = r.payment_id
      where r.status = 'succeeded' and ${refundedBounds.sql} group by p.currency`,
    refundedBounds.bindings,
  )) as { rows: Array<Record<string, string>> };
  const currencies: Record<string, { gross: number; discount: number; tax: number; refunded: number; net: number }> = {};
  const row = (currency: string) => (currencies[currency] ??= { gross: 0, discount: 0, tax: 0, refunded: 0, net: 0 });
  for (const p of payments.rows) Object.assign(row(p.currency), { gross: Number(p.gross), discount: Number(p.discount), tax: Number(p.tax) });
  for (const r of refunds.rows) row(r.currency).refunded = Number(r.refunded);
  for (const [currency, r] of Object.entries(currencies)) {
    const charged = Number(payments.rows.find((p) => p.currency === currency)?.charged ?? 0);
    r.net = charged - r.tax - r.refunded;
  }
  return { timezone: zone, from, to, currencies };
}

export const paymentRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/v1/payments',
    summary: 'Create a payment and start its capture workflow (Idempotency-Key required)',
    tag: 'payments',
    access: ['learner', 'finance', 'admin'],
    rateGroup: 'payments',
    body: CreatePaymentBody,
    headers: IDEMPOTENCY_HEADER,
    responses: {
      202: { description: 'the payment and its run', schema: PaymentResponse },
      409: { description: 'IDEMPOTENCY_KEY_REUSED with another body' },
      422: { description: 'CURRENCY_NOT_ALLOWED, TAX_REGION_UNKNOWN, COUPON_INVALID, AMOUNT_BELOW_MINIMUM' },
    },
    handler: async ({ body, headers, principal, deps }) => {
      const key = idempotencyKeyOf(headers);
      if (!hasRole(principal, 'finance', 'admin') && body.customerId !== principal.sub) {
        throw forbidden('CUSTOMER_MISMATCH', 'learners pay only for themselves (customerId must be your own id)');
      }
      const hash = requestHash(body);
      let payment = await existingPayment(deps.db, body.customerId, key, hash);
      if (!payment) {
        try {
          payment = await recordPayment(deps, body, key, hash);
        } catch (err) {
          if (!(err instanceof LostInsertRace)) throw err;
          payment = (await existingPayment(deps.db, body.customerId, key, hash)) as Payment;
        }
      }
      const run = await startCapture(deps, payment);
      return { status: 202, body: { payment: payment.toView(), run } };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/payments/:id',
    summary: 'A payment and its capture run',
    tag: 'payments',
    access: ['learner', 'support', 'finance', 'admin'],
    rateGroup: 'payments',
    params: IdParams,
    responses: { 200: { description: 'the payment', schema: PaymentResponse }, 404: { description: 'unknown payment' } },
    handler: async ({ params, principal, deps }) => {
      const payment = await findPayment(deps.db, params.id, principal);
      return { status: 200, body: { payment: payment.toView(), run: await paymentRun(deps, payment.id) } };
    },
  }),

  ...(['capture', 'cancel'] as const).map((change) =>
    defineRoute({
      method: 'post',
      path: `/api/v1/payments/:id/${change}`,
      summary: change === 'capture' ? 'Capture an authorized manual payment' : 'Cancel a payment that is not captured yet',
      tag: 'payments',
      access: MONEY_ROLES,
      rateGroup: 'payments',
      params: IdParams,
      body: PaymentActionBody,
      responses: {
        202: { description: 'accepted by the workflow', schema: PaymentResponse },
        404: { description: 'unknown payment' },
        409: { description: change === 'capture' ? 'PAYMENT_NOT_CAPTURABLE' : 'PAYMENT_NOT_CANCELABLE' },
      },
      handler: async ({ params, body, principal, deps }) => {
        const payment = await findPayment(deps.db, params.id, principal);
        await requestChange(deps, payment, change, principal, body.reason ?? null);
        const fresh = (await Payment.query(deps.db).findById(payment.id)) as Payment;
        return { status: 202, body: { payment: fresh.toView(), run: await paymentRun(deps, payment.id) } };
      },
    }),
  ),

  defineRoute({
    method: 'post',
    path: '/api/v1/payments/:id/refunds',
    summary: 'Refund all or part of a captured payment (Idempotency-Key required)',
    tag: 'payments',
    access: MONEY_ROLES,
    rateGroup: 'payments',
    params: IdParams,
    body: CreateRefundBody,
    headers: IDEMPOTENCY_HEADER,
    responses: {
      202: { description: 'the refund and its run', schema: RefundResponse },
      404: { description: 'unknown payment' },
      409: { description: 'PAYMENT_NOT_REFUNDABLE' },
      422: { description: 'REFUND_EXCEEDS_CAPTURED' },
    },
    handler: async ({ params, body, headers, principal, deps }) => {
      const key = idempotencyKeyOf(headers);
      const refund = await reserveRefund(deps, params.id, key, body.amountCents, body.reason ?? null, principal.sub);
      deps.metrics.workflowStarts.inc({ type: REFUND_WORKFLOW });
      const input = { refundId: refund.id, paymentId: params.id };
      const run = await startRefund(deps.temporal, deps.config, input, key, `Refund ${refund.amountCents} cents of payment ${params.id}`);
      return { status: 202, body: { refund: refund.toView(), run } };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/payments/coupons',
    summary: 'Create a coupon (percentage capped by PAYMENTS_MAX_COUPON_PERCENTAGE)',
    tag: 'payments',
    access: MONEY_ROLES,
    rateGroup: 'payments',
    body: CreateCouponBody,
    responses: {
      201: { description: 'the coupon', schema: CouponResponse },
      409: { description: 'COUPON_EXISTS' },
      422: { description: 'COUPON_EXCEEDS_MAX, COUPON_TERMS_INVALID' },
    },
    handler: async ({ body, deps }) => {
      const max = deps.config.PAYMENTS_MAX_COUPON_PERCENTAGE;
      const fixed = body.amountOffCents !== undefined;
      if (fixed === (body.percentOff !== undefined) || fixed !== (body.currency !== undefined)) {
        throw unprocessable('COUPON_TERMS_INVALID', 'give either percentOff, or amountOffCents with its currency');
      }
      if ((body.percentOff ?? 0) > max) throw unprocessable('COUPON_EXCEEDS_MAX', `coupons give at most ${max}% off`);
      const rows = await deps.db('coupons')
        .insert({
          code: body.code,
          percentOff: body.percentOff ?? null,
          amountOffCents: body.amountOffCents ?? null,
          currency: body.currency ?? null,
          maxRedemptions: body.maxRedemptions ?? null,
          expiresAt: body.expiresAt ? new Date(body.expiresAt) : null,
        })
        .onConflict('code')
        .ignore()
        .returning('code');
      if (rows.length === 0) throw conflict('COUPON_EXISTS', `coupon ${body.code} already exists`);
      const coupon = (await Coupon.query(deps.db).findById(body.code)) as Coupon;
      return { status: 201, body: { coupon: coupon.toView() } };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/payments/coupons/:code',
    summary: 'A coupon',
    tag: 'payments',
    access: MONEY_ROLES,
    rateGroup: 'payments',
    params: CouponParams,
    responses: { 200: { description: 'the coupon', schema: CouponResponse }, 404: { description: 'unknown coupon' } },
    handler: async ({ params, deps }) => {
      const coupon = await Coupon.query(deps.db).findById(params.code);
      if (!coupon) throw notFound('coupon');
      return { status: 200, body: { coupon: coupon.toView() } };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/payments/reports/summary',
    summary: 'Gross, discount, tax, refunded and net per currency, by day in PAYMENTS_REPORTING_TIMEZONE',
    tag: 'payments',
    access: MONEY_ROLES,
    rateGroup: 'payments',
    query: ReportQuery,
    responses: { 200: { description: 'the summary', schema: ReportResponse } },
    handler: async ({ query, deps }) => ({ status: 200, body: await summaryReport(deps, query.from, query.to) }),
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/payments/reconciliation/anomalies',
    summary: 'Differences between Stripe and the ledger found by billing-reconciliation, newest first',
    tag: 'payments',
    access: MONEY_ROLES,
    rateGroup: 'payments',
    query: AnomalyQuery,
    responses: { 200: { description: 'a page of anomalies', schema: AnomalyList } },
    handler: async ({ query, deps }) => {
      const limit = query.limit ?? 50;
      const after = decodeCursor(query.cursor, ['id']);
      const q = ReconciliationAnomaly.query(deps.db).orderBy('id', 'desc');
      if (query.kind) q.where('kind', query.kind);
      if (after) q.where('id', '<', after.id);
      const { items, nextCursor } = page(await q.limit(limit + 1), limit, (a) => ({ id: String(a.id) }));
      return { status: 200, body: { items: items.map((a) => a.toView()), nextCursor } };
    },
  }),
];
