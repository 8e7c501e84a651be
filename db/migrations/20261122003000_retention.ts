import type { Knex } from 'knex';

/** Retention policies as data, the runs that apply them, and one audit row per policy per live run. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('data_retention_policies', (t) => {
    t.uuid('id').primary();
    // Entity and action are checked against the allow-list in db/retentionEntities.ts before they get here.
    t.text('entity').notNullable();
    t.text('action').notNullable().checkIn(['hard-delete', 'soft-delete', 'anonymize'], 'data_retention_policies_action_check');
    t.integer('retention_days').notNullable().checkPositive('data_retention_policies_days_check');
    t.jsonb('criteria').notNullable().defaultTo('{}');
    t.boolean('active').notNullable().defaultTo(true);
    // Consecutive failed runs; at DATA_RETENTION_MAX_FAILURES the policy rests until resting_until.
    t.integer('consecutive_failures').notNullable().defaultTo(0);
    t.timestamp('resting_until', { useTz: true });
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('retention_runs', (t) => {
    t.uuid('id').primary();
    t.text('workflow_id').notNullable();
    t.text('status').notNullable().checkIn(['running', 'completed', 'failed'], 'retention_runs_status_check');
    t.boolean('dry_run').notNullable();
    t.text('trigger').notNullable();
    t.text('requested_by');
    // Every cut-off of the run is measured from this one moment, however long the run takes.
    t.timestamp('as_of', { useTz: true }).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('completed_at', { useTz: true });
    t.index(['created_at', 'id'], 'retention_runs_created_at_idx');
  });

  // What one run did (or is doing) with one policy; the keyset cursor commits with each batch.
  await knex.schema.createTable('retention_run_policies', (t) => {
    t.uuid('retention_run_id').notNullable().references('retention_runs.id').onDelete('CASCADE');
    t.uuid('policy_id').notNullable().references('data_retention_policies.id');
    t.integer('position').notNullable();
    t.text('entity').notNullable();
    t.text('action').notNullable();
    t.jsonb('criteria').notNullable().defaultTo('{}');
    t.timestamp('cutoff_at', { useTz: true }).notNullable();
    t.text('status').notNullable().checkIn(['pending', 'completed', 'failed', 'skipped'], 'retention_run_policies_status_check');
    t.bigInteger('matched').notNullable().defaultTo(0);
    t.bigInteger('affected').notNullable().defaultTo(0);
    t.jsonb('sample_ids').notNullable().defaultTo('[]');
    t.text('cursor_at');
    t.text('cursor_key');
    t.text('error');
    t.primary(['retention_run_id', 'policy_id']);
  });

  await knex.schema.createTable('data_retention_audit_logs', (t) => {
    t.bigIncrements('id');
    t.uuid('retention_run_id').notNullable().references('retention_runs.id');
    t.uuid('policy_id').notNullable().references('data_retention_policies.id');
    t.text('entity').notNullable();
    t.text('action').notNullable();
    t.timestamp('cutoff_at', { useTz: true }).notNullable();
    t.bigInteger('matched').notNullable();
    t.bigInteger('affected').notNullable();
    t.jsonb('sample_ids').notNullable();
    t.text('workflow_id').notNullable();
    t.text('run_id').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // One row per policy per run, however often the activity that writes it is retried.
    t.unique(['retention_run_id', 'policy_id'], { indexName: 'data_retention_audit_logs_run_policy_uniq' });
    t.index(['policy_id', 'id'], 'data_retention_audit_logs_policy_idx');
  });

  // The quarantine cut-off scan reads assets by status and updated_at.
  await knex.schema.alterTable('assets', (t) => {
    t.index(['status', 'updated_at'], 'assets_status_updated_at_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('assets', (t) => t.dropIndex(['status', 'updated_at'], 'assets_status_updated_at_idx'));
  await knex.schema.dropTable('data_retention_audit_logs');
  await knex.schema.dropTable('retention_run_policies');
  await knex.schema.dropTable('retention_runs');
  await knex.schema.dropTable('data_retention_policies');
}
