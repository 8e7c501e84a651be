import type { Knex } from 'knex';

const PAYMENT_STATUSES = ['pending', 'requires_capture', 'succeeded', 'canceled', 'failed', 'partially_refunded', 'refunded'];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('coupons', (t) => {
    t.text('code').primary();
    t.integer('percent_off');
    t.bigInteger('amount_off_cents');
    t.text('currency');
    t.integer('max_redemptions');
    t.integer('times_redeemed').notNullable().defaultTo(0);
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`ALTER TABLE coupons ADD CONSTRAINT coupons_one_discount CHECK ((percent_off IS NULL) <> (amount_off_cents IS NULL))`);

  await knex.schema.createTable('payments', (t) => {
    t.uuid('id').primary();
    t.text('customer_id').notNullable();
    // The client's Idempotency-Key and a hash of what it asked for: a repeat returns this payment.
    t.text('idempotency_key').notNullable();
    t.text('request_hash').notNullable();
    t.bigInteger('amount_cents').notNullable();
    t.text('currency').notNullable();
    t.bigInteger('tax_cents').notNullable();
    t.bigInteger('discount_cents').notNullable();
    t.bigInteger('total_cents').notNullable();
    t.text('tax_region');
    t.text('coupon_code').references('coupons.code');
    t.text('description');
    t.text('capture_method').notNullable().checkIn(['automatic', 'manual'], 'payments_capture_method_check');
    t.text('status').notNullable().checkIn(PAYMENT_STATUSES, 'payments_status_check');
    t.text('stripe_payment_intent_id');
    t.bigInteger('amount_refunded_cents').notNullable().defaultTo(0);
    t.text('failure_code');
    t.text('failure_reason');
    t.timestamp('captured_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['customer_id', 'idempotency_key'], { indexName: 'payments_customer_idempotency_uniq' });
    t.index(['captured_at'], 'payments_captured_at_idx');
  });
  await knex.raw(`ALTER TABLE payments ADD CONSTRAINT payments_refund_bound CHECK (amount_refunded_cents BETWEEN 0 AND total_cents)`);

  await knex.schema.createTable('refunds', (t) => {
    t.uuid('id').primary();
    t.uuid('payment_id').notNullable().references('payments.id');
    t.text('idempotency_key').notNullable();
    t.bigInteger('amount_cents').notNullable();
    t.text('reason');
    t.text('status').notNullable().checkIn(['pending', 'succeeded', 'failed'], 'refunds_status_check');
    // Counted against the refundable remainder until it succeeds or Stripe refuses it.
    t.boolean('reserved').notNullable().defaultTo(true);
    t.text('stripe_refund_id');
    t.text('failure_reason');
    t.text('requested_by').notNullable();
    t.timestamp('succeeded_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['payment_id', 'idempotency_key'], { indexName: 'refunds_payment_idempotency_uniq' });
    t.index(['succeeded_at'], 'refunds_succeeded_at_idx');
  });
  await knex.raw(`ALTER TABLE refunds ADD CONSTRAINT refunds_positive CHECK (amount_cents > 0)`);

  await knex.schema.createTable('ledger_entries', (t) => {
    t.bigIncrements('id');
    t.uuid('payment_id').notNullable().references('payments.id');
    t.uuid('refund_id').references('refunds.id');
    // One posting per money movement and account: a retried write cannot post twice.
    t.text('entry_key').notNullable();
    t.text('account').notNullable();
    t.text('direction').notNullable().checkIn(['debit', 'credit'], 'ledger_direction_check');
    t.bigInteger('amount_cents').notNullable();
    t.text('currency').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['entry_key', 'account'], { indexName: 'ledger_entries_posting_uniq' });
    t.index(['payment_id'], 'ledger_entries_payment_idx');
    t.index(['created_at'], 'ledger_entries_created_at_idx');
  });
  await knex.raw(`ALTER TABLE ledger_entries ADD CONSTRAINT ledger_positive CHECK (amount_cents > 0)`);

  await knex.schema.createTable('stripe_events', (t) => {
    t.text('id').primary();
    t.text('type').notNullable();
    t.uuid('payment_id');
    t.jsonb('payload').notNullable();
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('processed_at', { useTz: true });
    t.index(['received_at'], 'stripe_events_received_at_idx');
  });

  await knex.schema.createTable('reconciliation_anomalies', (t) => {
    t.bigIncrements('id');
    t.text('kind').notNullable();
    // What the anomaly is about (a charge, refund or payment id): one row however often it is seen.
    t.text('reference').notNullable();
    t.uuid('payment_id');
    t.text('currency');
    t.bigInteger('expected_cents');
    t.bigInteger('actual_cents');
    t.text('detail').notNullable();
    t.text('last_run_id');
    t.timestamp('first_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['kind', 'reference'], { indexName: 'reconciliation_anomalies_uniq' });
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['reconciliation_anomalies', 'stripe_events', 'ledger_entries', 'refunds', 'payments', 'coupons']) {
    await knex.schema.dropTable(table);
  }
}
