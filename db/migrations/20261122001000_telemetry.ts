import type { Knex } from 'knex';

export const TELEMETRY_EVENT_STATUSES = ['accepted', 'suppressed'];
export const CONSENT_STATUSES = ['granted', 'revoked'];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('telemetry_events', (t) => {
    t.bigIncrements('id');
    // The unique constraint is the ingestion dedup: a repeated eventId is counted, never stored twice.
    t.text('event_id').notNullable().unique({ indexName: 'telemetry_events_event_id_uniq' });
    t.text('source');
    t.text('name');
    t.timestamp('occurred_at', { useTz: true }).notNullable();
    t.timestamp('received_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.text('user_id');
    t.text('scope').notNullable();
    t.jsonb('properties').notNullable().defaultTo('{}');
    t.text('status').notNullable().checkIn(TELEMETRY_EVENT_STATUSES, 'telemetry_events_status_check');
    t.timestamp('exported_at', { useTz: true });
    // Set when an export claims the event, before its object is written; exported_at follows at the commit.
    t.text('export_batch_id');
    t.timestamp('anonymized_at', { useTz: true });
    t.index(['occurred_at'], 'telemetry_events_occurred_at_idx');
  });
  // Every index costs each claim and commit a write per event, so there are only these:
  // the export scan (accepted events not exported yet, in id order; a revocation's pending
  // events are found through it too, as the backlog is small when the pipeline is healthy).
  await knex.raw(
    `CREATE INDEX telemetry_events_export_scan_idx ON telemetry_events (id) WHERE status = 'accepted' AND exported_at IS NULL`,
  );
  // A claimed batch whose object was written but not committed (a crash): the next export resumes it.
  await knex.raw(
    `CREATE INDEX telemetry_events_open_batch_idx ON telemetry_events (export_batch_id, id)
     WHERE export_batch_id IS NOT NULL AND exported_at IS NULL`,
  );

  await knex.schema.createTable('telemetry_consents', (t) => {
    t.bigIncrements('id');
    t.text('user_id').notNullable();
    t.text('scope').notNullable();
    t.text('status').notNullable().checkIn(CONSENT_STATUSES, 'telemetry_consents_status_check');
    t.text('version').notNullable();
    t.text('recorded_by').notNullable();
    t.timestamp('recorded_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  // The ledger is append-only; a user's current consent in a scope is its newest row.
  await knex.raw('CREATE INDEX telemetry_consents_current_idx ON telemetry_consents (user_id, scope, id DESC)');

  await knex.schema.createTable('telemetry_exports', (t) => {
    t.text('batch_id').primary();
    t.text('bucket').notNullable();
    t.text('key').notNullable();
    t.integer('count').notNullable();
    t.bigInteger('bytes').notNullable();
    t.timestamp('first_event_at', { useTz: true });
    t.timestamp('last_event_at', { useTz: true });
    t.text('workflow_id');
    t.text('run_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('deleted_at', { useTz: true });
    t.index(['created_at'], 'telemetry_exports_created_at_idx');
  });

  await knex.schema.createTable('telemetry_checkpoints', (t) => {
    t.text('name').primary();
    t.bigInteger('last_event_id').notNullable().defaultTo(0);
    // received_at of the newest event exported so far.
    t.timestamp('checkpoint_at', { useTz: true });
    t.text('last_batch_id');
    t.text('last_failure');
    t.timestamp('last_failure_at', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex('telemetry_checkpoints').insert({ name: 'export' });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('telemetry_checkpoints');
  await knex.schema.dropTable('telemetry_exports');
  await knex.schema.dropTable('telemetry_consents');
  await knex.schema.dropTable('telemetry_events');
}
