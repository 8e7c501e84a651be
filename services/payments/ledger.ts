// Double-entry postings of money movements. Each movement has an entry key and
// writes each account once, so a retried step never posts twice.
import type { Knex } from 'knex';
import { LedgerEntry, type Dispute, type Payment, type Refund } from '../../db/models/Payment';

interface PostingLine {
  account: string;
  direction: 'debit' | 'credit';
  amountCents: number;
}

async function post(
  trx: Knex.Transaction,
  entryKey: string,
  base: { paymentId: string; refundId?: string; currency: string },
  lines: PostingLine[],
): Promise<void> {
  const rows = lines
    .filter((l) => l.amountCents > 0)
    .map((l) => ({ ...base, refundId: base.refundId ?? null, entryKey, ...l }));
  await LedgerEntry.query(trx).insert(rows).onConflict(['entry_key', 'account']).ignore();
}

/** The charged total into the Stripe balance, split into revenue and the tax owed. */
export function postCapture(trx: Knex.Transaction, payment: Payment): Promise<void> {
  const total = Number(payment.totalCents);
  const tax = Number(payment.taxCents);
  return post(trx, `capture:${payment.id}`, { paymentId: payment.id, currency: payment.currency }, [
    { account: 'stripe_balance', direction: 'debit', amountCents: total },
    { account: 'revenue', direction: 'credit', amountCents: total - tax },
    { account: 'tax_payable', direction: 'credit', amountCents: tax },
  ]);
}

/** The refunded amount out of the Stripe balance. */
export function postRefund(trx: Knex.Transaction, payment: Payment, refund: Refund): Promise<void> {
  const amount = Number(refund.amountCents);
  return post(trx, `refund:${refund.id}`, { paymentId: payment.id, refundId: refund.id, currency: payment.currency }, [
    { account: 'refunds', direction: 'debit', amountCents: amount },
    { account: 'stripe_balance', direction: 'credit', amountCents: amount },
  ]);
}

/** A refund Stripe later reported failed: the amount is back in the Stripe balance. */
export function postRefundReversal(trx: Knex.Transaction, payment: Payment, refund: Refund): Promise<void> {
  const amount = Number(refund.amountCents);
  return post(trx, `refund-failed:${refund.id}`, { paymentId: payment.id, refundId: refund.id, currency: payment.currency }, [
    { account: 'stripe_balance', direction: 'debit', amountCents: amount },
    { account: 'refunds', direction: 'credit', amountCents: amount },
  ]);
}

type DisputeMovement = 'opened' | 'won' | 'lost';

/**
 * Stripe withdraws a disputed amount from the balance when the dispute opens; a won
 * dispute gives it back, a lost one turns it into a loss.
 */
export function postDispute(trx: Knex.Transaction, payment: Payment, dispute: Dispute, movement: DisputeMovement): Promise<void> {
  const amount = Number(dispute.amountCents);
  const lines: Record<DisputeMovement, PostingLine[]> = {
    opened: [
      { account: 'disputed_funds', direction: 'debit', amountCents: amount },
      { account: 'stripe_balance', direction: 'credit', amountCents: amount },
    ],
    won: [
      { account: 'stripe_balance', direction: 'debit', amountCents: amount },
      { account: 'disputed_funds', direction: 'credit', amountCents: amount },
    ],
    lost: [
      { account: 'dispute_losses', direction: 'debit', amountCents: amount },
      { account: 'disputed_funds', direction: 'credit', amountCents: amount },
    ],
  };
  return post(trx, `dispute-${movement}:${dispute.stripeDisputeId}`, { paymentId: payment.id, currency: dispute.currency }, lines[movement]);
}
