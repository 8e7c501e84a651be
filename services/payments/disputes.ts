// Disputes Stripe reports on our payments: one row per Stripe dispute, moved on by
// its `charge.dispute.*` webhooks, with the ledger postings of the money it moves.
import { randomUUID } from 'node:crypto';
import { Dispute, Payment } from '../../db/models/Payment';
import type { Db } from '../../lib/db';
import { postDispute } from './ledger';
import { recordOutboxEvent } from '../notifications/outbox';

/** What a Stripe dispute object tells us. */
export interface StripeDisputeSeen {
  id: string;
  paymentIntentId: string | null;
  amount: number;
  currency: string;
  reason: string | null;
  status: string;
}

const outcomeOf = (status: string): 'won' | 'lost' | null => (status === 'won' || status === 'lost' ? status : null);

/** An inquiry (`warning_*`) withdraws no funds; every other dispute does. */
const withdrawsFunds = (status: string) => !status.startsWith('warning_');

export async function paymentByIntent(db: Db, intentId: string): Promise<Payment | undefined> {
  return Payment.query(db).findOne({ stripePaymentIntentId: intentId });
}

/**
 * Records the dispute's latest state once per Stripe dispute. A closed dispute keeps
 * its outcome against late or reordered events; each posting is made once.
 */
export async function applyStripeDispute(db: Db, seen: StripeDisputeSeen): Promise<void> {
  const payment = seen.paymentIntentId ? await paymentByIntent(db, seen.paymentIntentId) : undefined;
  if (!payment) return;
  await db.transaction(async (trx) => {
    const created = await trx('payment_disputes')
      .insert({ id: randomUUID(), paymentId: payment.id, stripeDisputeId: seen.id, amountCents: seen.amount, currency: seen.currency, reason: seen.reason, status: seen.status })
      .onConflict('stripe_dispute_id')
      .ignore()
      .returning('id');
    let dispute = (await Dispute.query(trx).findOne({ stripeDisputeId: seen.id }).forUpdate()) as Dispute;
    const wasOpen = !dispute.outcome;
    if (wasOpen) {
      const outcome = outcomeOf(seen.status);
      dispute = await dispute
        .$query(trx)
        .patchAndFetch({ status: seen.status, amountCents: seen.amount, reason: seen.reason, outcome, closedAt: outcome ? new Date() : null, updatedAt: new Date() });
    }
    if (withdrawsFunds(dispute.status) || dispute.outcome) await postDispute(trx, payment, dispute, 'opened');
    if (dispute.outcome) await postDispute(trx, payment, dispute, dispute.outcome);
    // Reported in the same transaction, each once: a repeated or reordered webhook moves nothing.
    if (created.length > 0) await recordOutboxEvent(trx, 'dispute.created', { dispute: dispute.toView() });
    if (wasOpen && dispute.outcome) await recordOutboxEvent(trx, 'dispute.closed', { dispute: dispute.toView() });
  });
}

/** A payment's disputes, oldest first. */
export async function disputesOf(db: Db, paymentId: string): Promise<Dispute[]> {
  return Dispute.query(db).where({ paymentId }).orderBy([{ column: 'createdAt' }, { column: 'id' }]);
}
