import type { Knex } from 'knex';

export const RELEASE_STATUSES = ['pending', 'blocked', 'ready', 'approved', 'expired', 'failed'];
export const GATE_EVALUATION_STATUSES = ['pass', 'fail', 'waived'];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('release_runs', (t) => {
    t.uuid('public_id').primary();
    t.text('version').notNullable();
    t.text('environment').notNullable();
    t.timestamp('change_window_start', { useTz: true }).notNullable();
    t.timestamp('change_window_end', { useTz: true }).notNullable();
    t.jsonb('owners').notNullable().defaultTo('[]');
    t.text('status').notNullable().defaultTo('pending').checkIn(RELEASE_STATUSES, 'release_runs_status_check');
    t.integer('readiness_score').notNullable().defaultTo(0);
    // The checklist snapshot taken at start, each gate with its current status.
    t.jsonb('gates').notNullable();
    t.jsonb('warnings').notNullable().defaultTo('[]');
    // Metrics submitted with the request, so the run can be started again from the record alone.
    t.jsonb('initial_metrics');
    // The workflow's revision of this state: a late write of an older revision never overwrites a newer one.
    t.integer('revision').notNullable().defaultTo(0);
    t.text('workflow_id').notNullable();
    t.text('created_by').notNullable();
    t.text('failure_reason');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('closed_at', { useTz: true });
    // The business key: one release run per version and environment.
    t.unique(['environment', 'version'], { indexName: 'release_runs_environment_version_uniq' });
    t.index(['created_at', 'public_id'], 'release_runs_created_at_idx');
    t.index(['status', 'change_window_start'], 'release_runs_status_window_idx');
  });

  await knex.schema.createTable('release_gate_evaluations', (t) => {
    t.bigIncrements('id');
    t.uuid('release_run_id').notNullable().references('release_runs.public_id').onDelete('CASCADE');
    // The workflow numbers every evaluation it accepts: a retried activity cannot record one twice.
    t.integer('seq').notNullable();
    t.text('gate_key').notNullable();
    t.text('status').notNullable().checkIn(GATE_EVALUATION_STATUSES, 'release_gate_evaluations_status_check');
    t.text('source').notNullable().checkIn(['auto', 'manual'], 'release_gate_evaluations_source_check');
    t.jsonb('metrics');
    t.text('notes');
    t.text('evidence_url');
    t.text('actor').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['release_run_id', 'seq'], { indexName: 'release_gate_evaluations_seq_uniq' });
    t.index(['gate_key', 'status'], 'release_gate_evaluations_gate_status_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('release_gate_evaluations');
  await knex.schema.dropTable('release_runs');
}
