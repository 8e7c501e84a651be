import type { Payment, Refund } from '../../db/models/Payment';
import { badRequest, forbidden, notFound } from '../../lib/errors';
import { cancelPayment, capturePayment, paymentCaptureRun, startPaymentCapture, startRefund } from '../../lib/clients/payments';
import { IdParams, IdempotencyKey, Roles, type Run } from '../../schemas/common';
import {
  AnomalyList,
  AnomalyQuery,
  CouponParams,
  CouponResponse,
  CreateCouponBody,
  CreatePaymentBody,
  CreatePaymentResponse,
  CreatePriceBody,
  CreateRefundBody,
  PaymentActionBody,
  PaymentDetailResponse,
  PriceList,
  PriceListQuery,
  PriceResponse,
  RefundResponse,
  ReportQuery,
  ReportResponse,
  UpdatePriceBody,
} from '../../schemas/payments';
import { audited, type AuditContext } from '../../services/audit';
import {
  couponByCode,
  createCoupon,
  createPayment,
  disputesOf,
  createPrice,
  findPayment,
  listAnomalies,
  listPrices,
  paymentSettingsOf,
  refundsOf,
  reserveRefund,
  summaryReport,
  updatePrice,
} from '../../services/payments';
import { PAYMENT_CAPTURE_WORKFLOW } from '../../workflows/paymentCapture.contract';
import { REFUND_WORKFLOW } from '../../workflows/refund.contract';
import type { AppDeps } from '../deps';
import { hasRole, type Principal } from '../middleware/auth';
import { defineRoute } from '../route';
import { startSummary } from '../../lib/dataConverter';

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

/** Learners see only their own payments; staff see every one. */
async function visiblePayment(deps: AppDeps, id: string, principal: Principal): Promise<Payment> {
  const payment = await findPayment(deps.db, id);
  const ownOnly = !hasRole(principal, 'support', 'finance', 'admin');
  if (!payment || (ownOnly && payment.customerId !== principal.sub)) throw notFound('payment');
  return payment;
}

/** Starts the capture run and answers the client secret with it; a repeat whose intent exists answers the recorded one. */
async function startCapture(deps: AppDeps, payment: Payment, paymentMethodId: string | undefined): Promise<{ run: Run; clientSecret: string | null }> {
  if (payment.stripeClientSecret) {
    const run = await paymentCaptureRun(deps.temporal, deps.config, payment.id);
    if (run) return { run, clientSecret: payment.stripeClientSecret };
  }
  deps.metrics.workflowStarts.inc({ type: PAYMENT_CAPTURE_WORKFLOW });
  const input = {
    paymentId: payment.id,
    captureMethod: payment.captureMethod,
    authorizationTtlHours: deps.config.PAYMENTS_AUTHORIZATION_TTL_HOURS,
    ...(paymentMethodId ? { paymentMethodId } : {}),
  };
  const summary = startSummary(deps.config, `${payment.captureMethod} payment of ${payment.totalCents} ${payment.currency} by ${payment.customerId}`, `Payment ${payment.id}`);
  return startPaymentCapture(deps.temporal, deps.config, input, summary, deps.config.PAYMENTS_CLIENT_SECRET_WAIT_MS);
}

/** The payer confirms with Stripe.js while the payment waits for it; nobody else is given the secret. */
function clientSecretFor(payment: Payment, principal: Principal): string | null {
  return payment.customerId === principal.sub && payment.status === 'pending' ? payment.stripeClientSecret : null;
}

/**
 * Sends a capture or cancel Update, between a pending `payment.<change>` audit row and its outcome;
 * the workflow's validator decides against its own state.
 */
async function requestChange(deps: AppDeps, payment: Payment, change: 'capture' | 'cancel', by: AuditContext, reason: string | null) {
  const entry = { ...by, action: `payment.${change}`, target: `payment:${payment.id}`, reason, before: { status: payment.status } };
  await audited(deps.db, entry, () =>
    change === 'capture' ? capturePayment(deps.temporal, payment, by.actor.sub) : cancelPayment(deps.temporal, payment, by.actor.sub, reason),
  );
}

/** Starts a reserved refund's run, between a pending `refund.create` audit row and its outcome. */
function startRefundRun(deps: AppDeps, refund: Refund, idempotencyKey: string, by: AuditContext): Promise<Run> {
  const { id: refundId, paymentId, amountCents } = refund;
  const entry = { ...by, action: 'refund.create', target: `payment:${paymentId}`, reason: refund.reason, after: { refundId, amountCents: Number(amountCents) } };
  return audited(deps.db, entry, () => {
    deps.metrics.workflowStarts.inc({ type: REFUND_WORKFLOW });
    const summary = startSummary(deps.config, `Refund ${amountCents} cents of payment ${paymentId}`, `Refund ${refundId} of payment ${paymentId}`);
    return startRefund(deps.temporal, deps.config, { refundId, paymentId }, idempotencyKey, summary);
  });
}

/** The payment with its refunds and disputes, and its capture run. */
async function withRun(deps: AppDeps, payment: Payment) {
  const [refunds, disputes, run] = await Promise.all([
    refundsOf(deps.db, payment.id),
    disputesOf(deps.db, payment.id),
    paymentCaptureRun(deps.temporal, deps.config, payment.id),
  ]);
  return { payment: { ...payment.toView(), refunds: refunds.map((r) => r.toView()), disputes: disputes.map((d) => d.toView()) }, run };
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
      202: { description: 'the payment, its run and the client secret for Stripe.js (null if not ready in PAYMENTS_CLIENT_SECRET_WAIT_MS)', schema: CreatePaymentResponse },
      400: { description: 'PRICE_AND_AMOUNT (a priceId with an amount or currency), CURRENCY_REQUIRED' },
      409: { description: 'IDEMPOTENCY_KEY_REUSED with another body' },
      422: {
        description:
          'PRICE_REQUIRED (a learner sent an amount, or nobody named a price), PRICE_NOT_FOUND, CURRENCY_NOT_ALLOWED, TAX_REGION_UNKNOWN, COUPON_INVALID, COUPON_EXHAUSTED, AMOUNT_BELOW_MINIMUM',
      },
    },
    handler: async ({ body, headers, principal, deps }) => {
      const key = idempotencyKeyOf(headers);
      const staff = hasRole(principal, 'finance', 'admin');
      if (!staff && body.customerId !== principal.sub) {
        throw forbidden('CUSTOMER_MISMATCH', 'learners pay only for themselves (customerId must be your own id)');
      }
      const payment = await createPayment(deps.db, paymentSettingsOf(deps.config), { body, key, staff });
      const { run, clientSecret } = await startCapture(deps, payment, body.paymentMethodId);
      return { status: 202, body: { payment: payment.toView(), run, clientSecret, publishableKey: deps.config.STRIPE_PUBLISHABLE_KEY } };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/payments/prices',
    summary: 'The active prices a payment may name',
    tag: 'payments',
    access: Roles,
    rateGroup: 'payments',
    query: PriceListQuery,
    responses: { 200: { description: 'a page of prices', schema: PriceList } },
    handler: async ({ query, deps }) => ({ status: 200, body: await listPrices(deps.db, query) }),
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/payments/prices',
    summary: 'Create a price (audited as price.create)',
    tag: 'payments',
    access: MONEY_ROLES,
    rateGroup: 'payments',
    body: CreatePriceBody,
    responses: { 201: { description: 'the price', schema: PriceResponse }, 422: { description: 'CURRENCY_NOT_ALLOWED' } },
    handler: async ({ body, principal, requestId, deps }) => {
      const price = await createPrice(deps.db, paymentSettingsOf(deps.config), body, { actor: principal, requestId });
      return { status: 201, body: { price: price.toView() } };
    },
  }),

  defineRoute({
    method: 'patch',
    path: '/api/v1/payments/prices/:id',
    summary: 'Change or deactivate a price for payments created from now on (audited as price.update)',
    tag: 'payments',
    access: MONEY_ROLES,
    rateGroup: 'payments',
    params: IdParams,
    body: UpdatePriceBody,
    responses: {
      200: { description: 'the price', schema: PriceResponse },
      404: { description: 'unknown price' },
      422: { description: 'CURRENCY_NOT_ALLOWED' },
    },
    handler: async ({ params, body, principal, requestId, deps }) => {
      const price = await updatePrice(deps.db, paymentSettingsOf(deps.config), params.id, body, { actor: principal, requestId });
      return { status: 200, body: { price: price.toView() } };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/payments/:id',
    summary: 'A payment with its refunds and disputes, and its capture run; the payer also gets the client secret while the payment is pending',
    tag: 'payments',
    access: ['learner', 'support', 'finance', 'admin'],
    rateGroup: 'payments',
    params: IdParams,
    responses: { 200: { description: 'the payment', schema: PaymentDetailResponse }, 404: { description: 'unknown payment' } },
    handler: async ({ params, principal, deps }) => {
      const payment = await visiblePayment(deps, params.id, principal);
      const secret = { clientSecret: clientSecretFor(payment, principal), publishableKey: deps.config.STRIPE_PUBLISHABLE_KEY };
      return { status: 200, body: { ...(await withRun(deps, payment)), ...secret } };
    },
  }),

  ...(['capture', 'cancel'] as const).map((change) =>
    defineRoute({
      method: 'post',
      path: `/api/v1/payments/:id/${change}`,
      summary: `${change === 'capture' ? 'Capture an authorized manual payment' : 'Cancel a payment that is not captured yet'} (audited as payment.${change})`,
      tag: 'payments',
      access: MONEY_ROLES,
      rateGroup: 'payments',
      params: IdParams,
      body: PaymentActionBody,
      responses: {
        202: { description: 'accepted by the workflow', schema: PaymentDetailResponse },
        404: { description: 'unknown payment' },
        409: { description: change === 'capture' ? 'PAYMENT_NOT_CAPTURABLE' : 'PAYMENT_NOT_CANCELABLE' },
      },
      handler: async ({ params, body, principal, requestId, deps }) => {
        const payment = await visiblePayment(deps, params.id, principal);
        await requestChange(deps, payment, change, { actor: principal, requestId }, body.reason ?? null);
        const changed = (await findPayment(deps.db, payment.id)) as Payment;
        return { status: 202, body: await withRun(deps, changed) };
      },
    }),
  ),

  defineRoute({
    method: 'post',
    path: '/api/v1/payments/:id/refunds',
    summary: 'Refund all or part of a captured payment (Idempotency-Key required; audited as refund.create)',
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
    handler: async ({ params, body, headers, principal, requestId, deps }) => {
      const key = idempotencyKeyOf(headers);
      const request = { paymentId: params.id, idempotencyKey: key, amountCents: body.amountCents, reason: body.reason ?? null, requestedBy: principal.sub };
      const refund = await reserveRefund(deps.db, request);
      const run = await startRefundRun(deps, refund, key, { actor: principal, requestId });
      return { status: 202, body: { refund: refund.toView(), run } };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/payments/coupons',
    summary: 'Create a coupon (percentage capped by PAYMENTS_MAX_COUPON_PERCENTAGE; audited as coupon.create)',
    tag: 'payments',
    access: MONEY_ROLES,
    rateGroup: 'payments',
    body: CreateCouponBody,
    responses: {
      201: { description: 'the coupon', schema: CouponResponse },
      409: { description: 'COUPON_EXISTS' },
      422: { description: 'COUPON_EXCEEDS_MAX, COUPON_TERMS_INVALID' },
    },
    handler: async ({ body, principal, requestId, deps }) => {
      const coupon = await createCoupon(deps.db, paymentSettingsOf(deps.config), body, { actor: principal, requestId });
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
      const coupon = await couponByCode(deps.db, params.code);
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
    handler: async ({ query, deps }) => ({ status: 200, body: await summaryReport(deps.db, paymentSettingsOf(deps.config), query.from, query.to) }),
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
    handler: async ({ query, deps }) => ({ status: 200, body: await listAnomalies(deps.db, query) }),
  }),
];
