import type { Knex } from 'knex';

/**
 * Outbound notifications: webhook endpoints (secrets encrypted at rest), the transactional
 * outbox every reported state change writes to, and one delivery per endpoint and event
 * with its attempts.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('webhook_endpoints', (t) => {
    t.uuid('id').primary();
    t.text('url').notNullable();
    t.specificType('events', 'text[]').notNullable();
    t.text('description');
    t.boolean('active').notNullable().defaultTo(true);
    t.text('secret_encrypted').notNullable();
    // During a rotation the old secret keeps signing beside the new one until it expires.
    t.text('previous_secret_encrypted');
    t.timestamp('previous_secret_expires_at', { useTz: true });
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('deleted_at', { useTz: true });
  });

  await knex.schema.createTable('outbox_events', (t) => {
    t.uuid('id').primary();
    t.text('type').notNullable();
    t.jsonb('data').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('dispatched_at', { useTz: true });
    t.index(['created_at'], 'outbox_events_created_idx');
  });
  // The dispatcher's scan: only undispatched events, oldest first.
  await knex.raw('CREATE INDEX outbox_events_pending_idx ON outbox_events (created_at) WHERE dispatched_at IS NULL');

  await knex.schema.createTable('webhook_deliveries', (t) => {
    t.uuid('id').primary();
    t.uuid('endpoint_id').notNullable().references('id').inTable('webhook_endpoints').onDelete('CASCADE');
    // No foreign key: deliveries are kept longer than events (SPEC §5: 90 and 30 days); a retry of a
    // delivery whose event is gone fails at once.
    t.uuid('event_id').notNullable();
    t.text('type').notNullable();
    t.text('status').notNullable().checkIn(['pending', 'succeeded', 'failed'], 'webhook_deliveries_status_check');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['endpoint_id', 'event_id'], { indexName: 'webhook_deliveries_endpoint_event_key' });
    t.index(['endpoint_id', 'created_at', 'id'], 'webhook_deliveries_endpoint_idx');
    t.index(['created_at'], 'webhook_deliveries_created_idx');
    t.index(['event_id'], 'webhook_deliveries_event_idx');
  });

  await knex.schema.createTable('webhook_delivery_attempts', (t) => {
    t.bigIncrements('id');
    t.uuid('delivery_id').notNullable().references('id').inTable('webhook_deliveries').onDelete('CASCADE');
    t.timestamp('at', { useTz: true }).notNullable();
    t.integer('status_code');
    t.integer('latency_ms').notNullable();
    t.text('error');
    t.index(['delivery_id', 'id'], 'webhook_delivery_attempts_delivery_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('webhook_delivery_attempts');
  await knex.schema.dropTable('webhook_deliveries');
  await knex.schema.dropTable('outbox_events');
  await knex.schema.dropTable('webhook_endpoints');
}
