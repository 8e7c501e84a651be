import type { Knex } from 'knex';

/** Who replayed which run, why, and which run replaced it. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('run_replays', (t) => {
    t.bigIncrements('id');
    t.text('workflow_id').notNullable();
    t.text('workflow_type').notNullable();
    t.text('old_run_id').notNullable();
    t.text('new_run_id').notNullable();
    t.text('mode').notNullable().checkIn(['reset', 'restart'], 'run_replays_mode_check');
    t.text('reason').notNullable();
    t.text('requested_by').notNullable();
    t.uuid('bulk_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['workflow_id'], 'run_replays_workflow_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('run_replays');
}
