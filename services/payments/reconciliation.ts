// Billing reconciliation: Stripe's charges and refunds of a window against the
// payments and refunds we recorded. The caller pages through Stripe and hands
// each item in; what differs is stored as an anomaly, one row per kind and reference.
import type Stripe from 'stripe';
import { Payment, ReconciliationAnomaly, Refund } from '../../db/models/Payment';
import type { Db } from '../../lib/db';
import { decodeCursor, page } from '../../lib/pagination';
import type { AnomalyView, ReconciliationResult } from '../../schemas/payments';
import type { DriftItem } from '../../schemas/runs';

export type ChargeSeen = Pick<Stripe.Charge, 'id' | 'amount' | 'amount_captured' | 'captured' | 'currency' | 'metadata'>;
export type RefundSeen = Pick<Stripe.Refund, 'id' | 'amount' | 'currency' | 'metadata'>;

type Anomaly = Partial<ReconciliationAnomaly> & { kind: string; reference: string; detail: string };

export interface Reconciliation {
  checkCharge(charge: ChargeSeen): Promise<void>;
  checkRefund(refund: RefundSeen): Promise<void>;
  /** A closed payment or refund run its record disagrees with (found by the drift check). */
  checkRunRecord(drift: DriftItem): void;
  /** Adds the captures Stripe did not list since `since` and stores every anomaly found under `runId`. */
  finish(since: Date, runId: string | null): Promise<ReconciliationResult>;
}

export function startReconciliation(db: Db): Reconciliation {
  const found: Anomaly[] = [];
  const chargedPayments = new Set<string>();
  let chargesSeen = 0;
  let refundsSeen = 0;

  async function checkCharge(charge: ChargeSeen): Promise<void> {
    chargesSeen += 1;
    const paymentId = charge.metadata?.paymentId;
    const payment = paymentId ? await Payment.query(db).findById(paymentId) : undefined;
    if (!payment) {
      found.push({ kind: 'unknown_charge', reference: charge.id, currency: charge.currency, actualCents: charge.amount, detail: 'a Stripe charge no payment of ours accounts for' });
      return;
    }
    chargedPayments.add(payment.id);
    if (charge.captured && charge.amount_captured !== Number(payment.totalCents)) {
      found.push({ kind: 'amount_mismatch', reference: charge.id, paymentId: payment.id, currency: charge.currency, expectedCents: Number(payment.totalCents), actualCents: charge.amount_captured, detail: 'captured amount differs from the ledger' });
    }
  }

  async function checkRefund(refund: RefundSeen): Promise<void> {
    refundsSeen += 1;
    const ours = refund.metadata?.refundId ? await Refund.query(db).findById(refund.metadata.refundId) : undefined;
    if (!ours) {
      found.push({ kind: 'unknown_refund', reference: refund.id, currency: refund.currency, actualCents: refund.amount, detail: 'a Stripe refund no refund of ours accounts for' });
    } else if (ours.status !== 'succeeded' || Number(ours.amountCents) !== refund.amount) {
      found.push({ kind: 'refund_mismatch', reference: refund.id, paymentId: ours.paymentId, currency: refund.currency, expectedCents: Number(ours.amountCents), actualCents: refund.amount, detail: `our refund is ${ours.status}` });
    }
  }

  function checkRunRecord(drift: DriftItem): void {
    // A refund's workflow ID names its payment: refund:<paymentId>:<idempotencyKey>.
    const paymentId = drift.recordKind === 'payment' ? drift.recordId : drift.workflowId.split(':')[1];
    found.push({ kind: 'run_record_mismatch', reference: drift.workflowId, paymentId: paymentId ?? null, detail: `run ${drift.runId}: ${drift.problem}` });
  }

  async function finish(since: Date, runId: string | null): Promise<ReconciliationResult> {
    const captured = await Payment.query(db).where('capturedAt', '>=', since).whereNotNull('capturedAt');
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
    return { chargesSeen, refundsSeen, anomalies: found.length };
  }

  return { checkCharge, checkRefund, checkRunRecord, finish };
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
