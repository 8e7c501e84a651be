import { Type, type Static } from '@sinclair/typebox';
import { AuditReason } from './audit';
import { DateOrDateTime, ListOf, ListQueryProperties, Run, Timestamp, Uuid } from './common';

const Cents = Type.Integer({ minimum: 1, maximum: 99_999_999_99, description: 'integer cents' });
const Currency = Type.String({ pattern: '^[a-z]{3}$', description: 'lowercase ISO 4217, as Stripe writes it' });
const CouponCode = Type.String({ pattern: '^[A-Z0-9_-]{3,40}$' });

export const PaymentStatus = Type.Union(
  ['pending', 'requires_capture', 'succeeded', 'canceled', 'failed', 'partially_refunded', 'refunded'].map((s) =>
    Type.Literal(s),
  ),
);
export type PaymentStatus =
  | 'pending'
  | 'requires_capture'
  | 'succeeded'
  | 'canceled'
  | 'failed'
  | 'partially_refunded'
  | 'refunded';

export const CaptureMethod = Type.Union([Type.Literal('automatic'), Type.Literal('manual')]);
export type CaptureMethod = Static<typeof CaptureMethod>;

export const CreatePaymentBody = Type.Object(
  {
    customerId: Type.String({ minLength: 1, maxLength: 200 }),
    priceId: Type.Optional(Uuid),
    amountCents: Type.Optional(Cents),
    currency: Type.Optional(Currency),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    couponCode: Type.Optional(CouponCode),
    taxRegion: Type.Optional(Type.String({ pattern: '^[A-Z]{2}(-[A-Z0-9]{1,3})?$' })),
    captureMethod: CaptureMethod,
    paymentMethodId: Type.Optional(
      Type.String({ pattern: '^pm_[A-Za-z0-9_]{1,200}$', description: 'confirms the payment server-side with this PaymentMethod (test mode: pm_card_visa)' }),
    ),
  },
  { additionalProperties: false },
);
export type CreatePaymentBody = Static<typeof CreatePaymentBody>;

export const Payment = Type.Object({
  id: Uuid,
  customerId: Type.String(),
  priceId: Type.Union([Uuid, Type.Null()]),
  amountCents: Type.Integer(),
  currency: Type.String(),
  taxCents: Type.Integer(),
  discountCents: Type.Integer(),
  totalCents: Type.Integer(),
  captureMethod: CaptureMethod,
  status: PaymentStatus,
  stripePaymentIntentId: Type.Union([Type.String(), Type.Null()]),
  amountRefundedCents: Type.Integer(),
  failureCode: Type.Union([Type.String(), Type.Null()]),
  failureReason: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
});
export type PaymentView = Static<typeof Payment>;

const ClientSecret = Type.Union([Type.String(), Type.Null()], {
  description: 'the PaymentIntent client secret for Stripe.js confirmPayment; null until the intent exists (read it again from GET /payments/{id})',
});

export const PaymentResponse = Type.Object({
  payment: Payment,
  run: Type.Union([Run, Type.Null()]),
  clientSecret: Type.Optional(ClientSecret),
  publishableKey: Type.Optional(Type.String()),
});

/** POST /payments answers the client secret with the payment, for the browser to confirm at once. */
export const CreatePaymentResponse = Type.Object({ payment: Payment, run: Run, clientSecret: ClientSecret, publishableKey: Type.String() });

export const Price = Type.Object({
  id: Uuid,
  description: Type.String(),
  amountCents: Type.Integer(),
  currency: Type.String(),
  active: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type PriceView = Static<typeof Price>;
export const PriceResponse = Type.Object({ price: Price });
export const PriceList = ListOf(Price);
export const PriceListQuery = Type.Object({ ...ListQueryProperties }, { additionalProperties: false });

const Reason = Type.Optional(Type.String({ maxLength: 500, description: 'why, for the audit trail' }));

export const CreatePriceBody = Type.Object(
  { description: Type.String({ minLength: 1, maxLength: 500 }), amountCents: Cents, currency: Currency, active: Type.Optional(Type.Boolean()), reason: Reason },
  { additionalProperties: false },
);
export type CreatePriceBody = Static<typeof CreatePriceBody>;

export const UpdatePriceBody = Type.Object(
  {
    description: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    amountCents: Type.Optional(Cents),
    currency: Type.Optional(Currency),
    active: Type.Optional(Type.Boolean()),
    reason: Reason,
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdatePriceBody = Static<typeof UpdatePriceBody>;

export const Refund = Type.Object({
  id: Uuid,
  paymentId: Uuid,
  amountCents: Type.Integer(),
  reason: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('canceled')]),
  stripeRefundId: Type.Union([Type.String(), Type.Null()]),
  failureReason: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
});
export type RefundView = Static<typeof Refund>;

export const Dispute = Type.Object({
  id: Uuid,
  stripeDisputeId: Type.String(),
  amountCents: Type.Integer(),
  currency: Type.String(),
  reason: Type.Union([Type.String(), Type.Null()]),
  /** Stripe's dispute status (needs_response, under_review, won, lost, …). */
  status: Type.String(),
  outcome: Type.Union([Type.Literal('won'), Type.Literal('lost'), Type.Null()]),
  createdAt: Timestamp,
});
export type DisputeView = Static<typeof Dispute>;

/** A payment with its refunds and disputes, as GET /payments/{id} shows it. */
export const PaymentDetail = Type.Object({ ...Payment.properties, refunds: Type.Array(Refund), disputes: Type.Array(Dispute) });
export type PaymentDetailView = Static<typeof PaymentDetail>;
export const PaymentDetailResponse = Type.Object({ payment: PaymentDetail, run: Type.Union([Run, Type.Null()]) });

export const CreateRefundBody = Type.Object(
  {
    amountCents: Type.Optional(Cents),
    reason: Type.Optional(
      Type.Union(['duplicate', 'fraudulent', 'requested_by_customer'].map((r) => Type.Literal(r))),
    ),
  },
  { additionalProperties: false },
);
export const RefundResponse = Type.Object({ refund: Refund, run: Run });

export const PaymentActionBody = Type.Object(
  { reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);

export const CreateCouponBody = Type.Object(
  {
    code: CouponCode,
    percentOff: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    amountOffCents: Type.Optional(Cents),
    currency: Type.Optional(Currency),
    maxRedemptions: Type.Optional(Type.Integer({ minimum: 1 })),
    expiresAt: Type.Optional(Timestamp),
    reason: Type.Optional(AuditReason),
  },
  { additionalProperties: false },
);
export type CreateCouponBody = Static<typeof CreateCouponBody>;

export const Coupon = Type.Object({
  code: Type.String(),
  percentOff: Type.Union([Type.Integer(), Type.Null()]),
  amountOffCents: Type.Union([Type.Integer(), Type.Null()]),
  currency: Type.Union([Type.String(), Type.Null()]),
  maxRedemptions: Type.Union([Type.Integer(), Type.Null()]),
  timesRedeemed: Type.Integer(),
  timesReserved: Type.Integer({ description: 'uses held by payments not settled yet' }),
  expiresAt: Type.Union([Timestamp, Type.Null()]),
  createdAt: Timestamp,
});
export type CouponView = Static<typeof Coupon>;
export const CouponResponse = Type.Object({ coupon: Coupon });
export const CouponParams = Type.Object({ code: CouponCode }, { additionalProperties: false });

export const ReportQuery = Type.Object({ from: DateOrDateTime, to: DateOrDateTime }, { additionalProperties: false });
export const ReportResponse = Type.Object({
  timezone: Type.String(),
  from: Type.String(),
  to: Type.String(),
  currencies: Type.Record(
    Type.String(),
    Type.Object({
      gross: Type.Integer(),
      discount: Type.Integer(),
      tax: Type.Integer(),
      refunded: Type.Integer(),
      /** The amount under open or lost disputes. */
      disputed: Type.Integer(),
      net: Type.Integer(),
    }),
  ),
});

export const Anomaly = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  reference: Type.String(),
  paymentId: Type.Union([Uuid, Type.Null()]),
  currency: Type.Union([Type.String(), Type.Null()]),
  expectedCents: Type.Union([Type.Integer(), Type.Null()]),
  actualCents: Type.Union([Type.Integer(), Type.Null()]),
  detail: Type.String(),
  firstSeenAt: Timestamp,
  lastSeenAt: Timestamp,
});
export type AnomalyView = Static<typeof Anomaly>;
export const AnomalyList = ListOf(Anomaly);
export const AnomalyQuery = Type.Object({ kind: Type.Optional(Type.String({ maxLength: 60 })), ...ListQueryProperties }, {
  additionalProperties: false,
});

/** Inputs and outputs of the payment workflows. */
export const PaymentCaptureInput = Type.Object({
  paymentId: Uuid,
  captureMethod: CaptureMethod,
  /** Read from PAYMENTS_AUTHORIZATION_TTL_HOURS when the payment is created, so a deploy never changes a running timer. */
  authorizationTtlHours: Type.Integer({ minimum: 1 }),
  /** Confirms the PaymentIntent server-side with this PaymentMethod. */
  paymentMethodId: Type.Optional(Type.String()),
});
export type PaymentCaptureInput = Static<typeof PaymentCaptureInput>;
export type PaymentCaptureResult = { paymentId: string; status: PaymentStatus; failureCode?: string };

export const RefundInput = Type.Object({ refundId: Uuid, paymentId: Uuid });
export type RefundInput = Static<typeof RefundInput>;
export type RefundResult = { refundId: string; status: 'succeeded' | 'failed'; reason?: string };

export interface ReconciliationResult {
  chargesSeen: number;
  refundsSeen: number;
  /** Absent from the results of runs before disputes were compared. */
  disputesSeen?: number;
  anomalies: number;
}
