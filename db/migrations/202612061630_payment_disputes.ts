import type { Knex } from 'knex';

/**
 * Disputes Stripe reports on our payments (one row per Stripe dispute, moved on by
 * its webhooks), and the points billing reconciliation reached, so each run starts
 * where the last one stopped instead of a fixed window.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('payment_disputes', (t) => {
    t.uuid('id').primary();
    t.uuid('payment_id').notNullable().references('payments.id');
    t.text('stripe_dispute_id').notNullable().unique({ indexName: 'payment_disputes_stripe_uniq' });
    t.bigInteger('amount_cents').notNullable();
    t.text('currency').notNullable();
    t.text('reason');
    t.text('status').notNullable();
    // won or lost once Stripe closes it; null while it is open.
    t.text('outcome').checkIn(['won', 'lost'], 'payment_disputes_outcome_check');
    t.timestamp('closed_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['payment_id'], 'payment_disputes_payment_idx');
    t.index(['created_at'], 'payment_disputes_created_at_idx');
  });
  await knex.raw(`ALTER TABLE payment_disputes ADD CONSTRAINT payment_disputes_positive CHECK (amount_cents > 0)`);

  // Webhooks about charges, refunds and disputes name the PaymentIntent, not our payment.
  await knex.schema.alterTable('payments', (t) => t.index(['stripe_payment_intent_id'], 'payments_stripe_intent_idx'));

  // A run's window is fixed by its first attempt, so a retried attempt compares the same items.
  await knex.schema.createTable('reconciliation_runs', (t) => {
    t.text('run_id').primary();
    t.timestamp('since', { useTz: true }).notNullable();
    // What the run compared up to: once it finished, the next run starts here.
    t.timestamp('until', { useTz: true }).notNullable();
    t.integer('charges_seen');
    t.integer('refunds_seen');
    t.integer('disputes_seen');
    t.integer('anomalies');
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true });
    t.index(['finished_at', 'until'], 'reconciliation_runs_finished_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('reconciliation_runs');
  await knex.schema.alterTable('payments', (t) => t.dropIndex(['stripe_payment_intent_id'], 'payments_stripe_intent_idx'));
  await knex.schema.dropTable('payment_disputes');
}
