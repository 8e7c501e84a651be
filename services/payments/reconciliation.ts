// Billing reconciliation: Stripe's charges, refunds and disputes since the last
// reconciled point against the payments, refunds and disputes we recorded, their
// amounts and their statuses. The caller pages through Stripe and hands each item
// in; what differs is stored as an anomaly, one row per kind and reference.
import type Stripe from 'stripe';
import { Dispute, Payment, ReconciliationAnomaly, Refund } from '../../db/models/Payment';
import type { Db } from '../../lib/db';
import { decodeCursor, page } from '../../lib/pagination';
import type { AnomalyView, PaymentStatus, ReconciliationResult } from '../../schemas/payments';
import type { DriftItem } from '../../schemas/runs';
import { paymentByIntent } from './disputes';

type IntentRef = { payment_intent?: string | { id: string } | null };
export type ChargeSeen = Pick<Stripe.Charge, 'id' | 'amount' | 'amount_captured' | 'captured' | 'currency' | 'metadata'> &
  Partial<Pick<Stripe.Charge, 'status' | 'refunded'>> &
  IntentRef;
export type RefundSeen = Pick<Stripe.Refund, 'id' | 'amount' | 'currency' | 'metadata'> & Partial<Pick<Stripe.Refund, 'status'>>;
export type DisputeSeen = Pick<Stripe.Dispute, 'id' | 'amount' | 'currency' | 'status'> & IntentRef;

type Anomaly = Partial<ReconciliationAnomaly> & { kind: string; reference: string; detail: string };

/** The window a run compares: from the last reconciled point (a little before it) to when the run began. */
export interface ReconciliationWindow {
  since: Date;
  until: Date;
}

export interface Reconciliation {
  checkCharge(charge: ChargeSeen): Promise<void>;
  checkRefund(refund: RefundSeen): Promise<void>;
  checkDispute(dispute: DisputeSeen): Promise<void>;
  /** A closed payment or refund run its record disagrees with (found by the drift check). */
  checkRunRecord(drift: DriftItem): void;
  /** Adds the captures Stripe did not list in the window, stores every anomaly found under `runId` and marks the window reconciled. */
  finish(window: ReconciliationWindow, runId: string): Promise<ReconciliationResult>;
}

/**
 * The window of run `runId`, which began at `startedAtMs`: from the end of the last run
 * finished before it began (`fallbackMs` back for the very first), so runs started together
 * compare the same window; fixed by the first attempt, so a retry compares the same items.
 */
export async function reconciliationWindow(db: Db, runId: string, startedAtMs: number, fallbackMs: number, overlapMs: number): Promise<ReconciliationWindow> {
  const startedAt = new Date(startedAtMs);
  const last = (await db('reconciliation_runs').where('finishedAt', '<=', startedAt).max('until as until').first()) as { until: Date | null } | undefined;
  const since = last?.until ? new Date(last.until.getTime() - overlapMs) : new Date(startedAtMs - fallbackMs);
  await db('reconciliation_runs').insert({ runId, since, until: startedAt }).onConflict('run_id').ignore();
  const row = (await db('reconciliation_runs').where({ runId }).first()) as ReconciliationWindow;
  return { since: row.since, until: row.until };
}

const CAPTURED: ReadonlySet<PaymentStatus> = new Set(['succeeded', 'partially_refunded', 'refunded']);
const NOT_CHARGED: ReadonlySet<PaymentStatus> = new Set(['canceled', 'failed']);

const intentOf = (item: IntentRef): string | null =>
  typeof item.payment_intent === 'string' ? item.payment_intent : (item.payment_intent?.id ?? null);

/** Our payment by the charge's metadata, or else by its PaymentIntent. */
async function paymentOfCharge(db: Db, charge: ChargeSeen): Promise<Payment | undefined> {
  const paymentId = charge.metadata?.paymentId;
  if (paymentId) return Payment.query(db).findById(paymentId);
  const intentId = intentOf(charge);
  return intentId ? paymentByIntent(db, intentId) : undefined;
}

/** Where a captured charge and the payment's status disagree, why; null when they agree (or the payment is still in flight). */
function chargeStatusDisagreement(charge: ChargeSeen, payment: Payment): string | null {
  if (!charge.captured || charge.status === 'failed') return null;
  if (NOT_CHARGED.has(payment.status)) return `Stripe captured the charge; our payment is ${payment.status}`;
  if (charge.refunded && CAPTURED.has(payment.status) && payment.status !== 'refunded') {
    return `Stripe refunded the charge in full; our payment is ${payment.status}`;
  }
  return null;
}

/** Where Stripe's refund status and ours disagree, why; a refund of ours still pending is in flight. */
function refundStatusDisagreement(refund: RefundSeen, ours: Refund): string | null {
  const undone = refund.status === 'failed' || refund.status === 'canceled';
  if (refund.status === 'succeeded' && (ours.status === 'failed' || ours.status === 'canceled')) return `Stripe refunded; our refund is ${ours.status}`;
  if (undone && ours.status === 'succeeded') return `Stripe's refund is ${refund.status}; ours is succeeded`;
  return null;
}

export function startReconciliation(db: Db): Reconciliation {
  const found: Anomaly[] = [];
  const chargedPayments = new Set<string>();
  let chargesSeen = 0;
  let refundsSeen = 0;
  let disputesSeen = 0;

  async function checkCharge(charge: ChargeSeen): Promise<void> {
    chargesSeen += 1;
    const payment = await paymentOfCharge(db, charge);
    if (!payment) {
      found.push({ kind: 'unknown_charge', reference: charge.id, currency: charge.currency, actualCents: charge.amount, detail: 'a Stripe charge no payment of ours accounts for' });
      return;
    }
    chargedPayments.add(payment.id);
    if (charge.captured && charge.amount_captured !== Number(payment.totalCents)) {
      found.push({ kind: 'amount_mismatch', reference: charge.id, paymentId: payment.id, currency: charge.currency, expectedCents: Number(payment.totalCents), actualCents: charge.amount_captured, detail: 'captured amount differs from the ledger' });
    }
    const disagreement = chargeStatusDisagreement(charge, payment);
    if (disagreement) found.push({ kind: 'status_mismatch', reference: charge.id, paymentId: payment.id, currency: charge.currency, detail: disagreement });
  }

  async function checkRefund(refund: RefundSeen): Promise<void> {
    refundsSeen += 1;
    const refundId = refund.metadata?.refundId;
    const ours = refundId ? await Refund.query(db).findById(refundId) : await Refund.query(db).findOne({ stripeRefundId: refund.id });
    if (!ours) {
      found.push({ kind: 'unknown_refund', reference: refund.id, currency: refund.currency, actualCents: refund.amount, detail: 'a Stripe refund no refund of ours accounts for' });
      return;
    }
    if (Number(ours.amountCents) !== refund.amount) {
      found.push({ kind: 'refund_mismatch', reference: refund.id, paymentId: ours.paymentId, currency: refund.currency, expectedCents: Number(ours.amountCents), actualCents: refund.amount, detail: `our refund is ${ours.status}` });
    }
    const disagreement = refundStatusDisagreement(refund, ours);
    if (disagreement) found.push({ kind: 'status_mismatch', reference: refund.id, paymentId: ours.paymentId, currency: refund.currency, detail: disagreement });
  }

  /** A dispute on one of our payments that we have not recorded, or recorded in another status. */
  async function checkDispute(dispute: DisputeSeen): Promise<void> {
    disputesSeen += 1;
    const ours = await Dispute.query(db).findOne({ stripeDisputeId: dispute.id });
    if (ours?.status === dispute.status) return;
    const intentId = intentOf(dispute);
    const paymentId = ours?.paymentId ?? (intentId ? (await paymentByIntent(db, intentId))?.id : undefined);
    if (!paymentId) return;
    const detail = ours ? `Stripe's dispute is ${dispute.status}; ours is ${ours.status}` : `Stripe has a ${dispute.status} dispute we have not recorded`;
    found.push({ kind: 'status_mismatch', reference: dispute.id, paymentId, currency: dispute.currency, actualCents: dispute.amount, detail });
  }

  function checkRunRecord(drift: DriftItem): void {
    // A refund's workflow ID names its payment: refund:<paymentId>:<idempotencyKey>.
    const paymentId = drift.recordKind === 'payment' ? drift.recordId : drift.workflowId.split(':')[1];
    found.push({ kind: 'run_record_mismatch', reference: drift.workflowId, paymentId: paymentId ?? null, detail: `run ${drift.runId}: ${drift.problem}` });
  }

  async function finish({ since, until }: ReconciliationWindow, runId: string): Promise<ReconciliationResult> {
    const captured = await Payment.query(db).whereBetween('capturedAt', [since, until]);
    for (const payment of captured) {
      if (!chargedPayments.has(payment.id)) {
        found.push({ kind: 'missing_charge', reference: payment.id, paymentId: payment.id, currency: payment.currency, expectedCents: Number(payment.totalCents), detail: 'the ledger has a capture Stripe did not list' });
      }
    }
    for (const anomaly of found) {
      await ReconciliationAnomaly.query(db)
        .insert({ ...anomaly, lastRunId: runId, lastSeenAt: new Date() })
        .onConflict(['kind', 'reference'])
        .merge(['detail', 'expected_cents', 'actual_cents', 'last_run_id', 'last_seen_at']);
    }
    const result = { chargesSeen, refundsSeen, disputesSeen, anomalies: found.length };
    await db('reconciliation_runs').where({ runId }).update({ ...result, finishedAt: new Date() });
    return result;
  }

  return { checkCharge, checkRefund, checkDispute, checkRunRecord, finish };
}

export interface AnomalyFilter {
  kind?: string;
  limit?: number;
  cursor?: string;
}

/** A page of anomalies, newest first. */
export async function listAnomalies(db: Db, filter: AnomalyFilter): Promise<{ items: AnomalyView[]; nextCursor: string | null }> {
  const limit = filter.limit ?? 50;
  const after = decodeCursor(filter.cursor, ['id']);
  const q = ReconciliationAnomaly.query(db).orderBy('id', 'desc');
  if (filter.kind) q.where('kind', filter.kind);
  if (after) q.where('id', '<', after.id);
  const { items, nextCursor } = page(await q.limit(limit + 1), limit, (a) => ({ id: String(a.id) }));
  return { items: items.map((a) => a.toView()), nextCursor };
}
