import { BaseModel } from './BaseModel';
import type { AnomalyView, CaptureMethod, CouponView, DisputeView, PaymentStatus, PaymentView, PriceView, RefundView } from '../../schemas/payments';

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const cents = (v: number | string | null) => (v === null ? null : Number(v));

export class Coupon extends BaseModel {
  static tableName = 'coupons';
  static idColumn = 'code';
  code!: string;
  percentOff!: number | null;
  amountOffCents!: number | null;
  currency!: string | null;
  maxRedemptions!: number | null;
  timesRedeemed!: number;
  timesReserved!: number;
  expiresAt!: Date | null;
  createdAt!: Date;

  toView(): CouponView {
    return {
      code: this.code,
      percentOff: this.percentOff,
      amountOffCents: cents(this.amountOffCents),
      currency: this.currency,
      maxRedemptions: this.maxRedemptions,
      timesRedeemed: this.timesRedeemed,
      timesReserved: this.timesReserved,
      expiresAt: iso(this.expiresAt),
      createdAt: this.createdAt.toISOString(),
    };
  }
}

export class PaymentPrice extends BaseModel {
  static tableName = 'payment_prices';
  id!: string;
  description!: string;
  amountCents!: number;
  currency!: string;
  active!: boolean;
  createdAt!: Date;
  updatedAt!: Date;

  toView(): PriceView {
    return {
      id: this.id,
      description: this.description,
      amountCents: Number(this.amountCents),
      currency: this.currency,
      active: this.active,
      createdAt: this.createdAt.toISOString(),
      updatedAt: this.updatedAt.toISOString(),
    };
  }
}

export class Payment extends BaseModel {
  static tableName = 'payments';
  id!: string;
  customerId!: string;
  priceId!: string | null;
  idempotencyKey!: string;
  requestHash!: string;
  amountCents!: number;
  currency!: string;
  taxCents!: number;
  discountCents!: number;
  totalCents!: number;
  taxRegion!: string | null;
  couponCode!: string | null;
  /** `reserved` while the payment is open, then `redeemed` or `released`. */
  couponState!: 'reserved' | 'redeemed' | 'released' | null;
  /** For the payer's Stripe.js only: never in a view other than the payer's. */
  stripeClientSecret!: string | null;
  description!: string | null;
  captureMethod!: CaptureMethod;
  status!: PaymentStatus;
  /** The status its capture run closed with (null while the run is open); refunds and disputes may move `status` on. */
  closedStatus!: string | null;
  stripePaymentIntentId!: string | null;
  amountRefundedCents!: number;
  failureCode!: string | null;
  failureReason!: string | null;
  capturedAt!: Date | null;
  createdAt!: Date;
  updatedAt!: Date;

  toView(): PaymentView {
    return {
      id: this.id,
      customerId: this.customerId,
      priceId: this.priceId,
      amountCents: Number(this.amountCents),
      currency: this.currency,
      taxCents: Number(this.taxCents),
      discountCents: Number(this.discountCents),
      totalCents: Number(this.totalCents),
      captureMethod: this.captureMethod,
      status: this.status,
      stripePaymentIntentId: this.stripePaymentIntentId,
      amountRefundedCents: Number(this.amountRefundedCents),
      failureCode: this.failureCode,
      failureReason: this.failureReason,
      createdAt: this.createdAt.toISOString(),
    };
  }
}

export class Refund extends BaseModel {
  static tableName = 'refunds';
  id!: string;
  paymentId!: string;
  idempotencyKey!: string;
  amountCents!: number;
  reason!: string | null;
  status!: 'pending' | 'succeeded' | 'failed' | 'canceled';
  /** The status its refund run closed with (null while the run is open). */
  closedStatus!: string | null;
  reserved!: boolean;
  stripeRefundId!: string | null;
  failureReason!: string | null;
  requestedBy!: string;
  succeededAt!: Date | null;
  createdAt!: Date;
  updatedAt!: Date;

  toView(): RefundView {
    return {
      id: this.id,
      paymentId: this.paymentId,
      amountCents: Number(this.amountCents),
      reason: this.reason,
      status: this.status,
      stripeRefundId: this.stripeRefundId,
      failureReason: this.failureReason,
      createdAt: this.createdAt.toISOString(),
    };
  }
}

/** A dispute Stripe reported on one of our payments; its webhooks move it on. */
export class Dispute extends BaseModel {
  static tableName = 'payment_disputes';
  id!: string;
  paymentId!: string;
  stripeDisputeId!: string;
  amountCents!: number;
  currency!: string;
  reason!: string | null;
  status!: string;
  outcome!: 'won' | 'lost' | null;
  closedAt!: Date | null;
  createdAt!: Date;
  updatedAt!: Date;

  toView(): DisputeView {
    return {
      id: this.id,
      stripeDisputeId: this.stripeDisputeId,
      amountCents: Number(this.amountCents),
      currency: this.currency,
      reason: this.reason,
      status: this.status,
      outcome: this.outcome,
      createdAt: this.createdAt.toISOString(),
    };
  }
}

export class LedgerEntry extends BaseModel {
  static tableName = 'ledger_entries';
  id!: string;
  paymentId!: string;
  refundId!: string | null;
  entryKey!: string;
  account!: string;
  direction!: 'debit' | 'credit';
  amountCents!: number;
  currency!: string;
  createdAt!: Date;
}

export class StripeEvent extends BaseModel {
  static tableName = 'stripe_events';
  static jsonAttributes = ['payload'];
  id!: string;
  type!: string;
  paymentId!: string | null;
  payload!: Record<string, unknown>;
  receivedAt!: Date;
  processedAt!: Date | null;
}

export class ReconciliationAnomaly extends BaseModel {
  static tableName = 'reconciliation_anomalies';
  id!: string;
  kind!: string;
  reference!: string;
  paymentId!: string | null;
  currency!: string | null;
  expectedCents!: number | null;
  actualCents!: number | null;
  detail!: string;
  lastRunId!: string | null;
  firstSeenAt!: Date;
  lastSeenAt!: Date;

  toView(): AnomalyView {
    return {
      id: String(this.id),
      kind: this.kind,
      reference: this.reference,
      paymentId: this.paymentId,
      currency: this.currency,
      expectedCents: cents(this.expectedCents),
      actualCents: cents(this.actualCents),
      detail: this.detail,
      firstSeenAt: this.firstSeenAt.toISOString(),
      lastSeenAt: this.lastSeenAt.toISOString(),
    };
  }
}
