import type { Knex } from 'knex';

/**
 * Server-side prices (a learner pays a listed price, never an amount of their own),
 * coupon uses reserved while a payment is open, and the PaymentIntent's client secret
 * the payer confirms with Stripe.js.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('payment_prices', (t) => {
    t.uuid('id').primary();
    t.text('description').notNullable();
    t.bigInteger('amount_cents').notNullable();
    t.text('currency').notNullable();
    t.boolean('active').notNullable().defaultTo(true);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('ALTER TABLE payment_prices ADD CONSTRAINT payment_prices_amount_positive CHECK (amount_cents > 0)');

  await knex.schema.alterTable('coupons', (t) => {
    // Uses held by open payments: redeemed when one succeeds, given back when it fails or is canceled.
    t.integer('times_reserved').notNullable().defaultTo(0);
  });

  await knex.schema.alterTable('payments', (t) => {
    t.uuid('price_id').references('payment_prices.id');
    t.text('coupon_state').checkIn(['reserved', 'redeemed', 'released'], 'payments_coupon_state_check');
    t.text('stripe_client_secret');
  });
  // Payments made before reservations existed counted their coupon as redeemed at creation.
  await knex('payments').whereNotNull('coupon_code').update({ coupon_state: 'redeemed' });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('payments', (t) => {
    t.dropColumn('stripe_client_secret');
    t.dropColumn('coupon_state');
    t.dropColumn('price_id');
  });
  await knex.schema.alterTable('coupons', (t) => t.dropColumn('times_reserved'));
  await knex.schema.dropTable('payment_prices');
}
