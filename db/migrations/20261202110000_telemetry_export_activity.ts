import type { Knex } from 'knex';

// The activity call that committed each export batch: a retried call counts the batches its earlier
// attempts committed, so a run's result reports every batch it exported.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('telemetry_exports', (t) => {
    t.text('activity_id').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('telemetry_exports', (t) => {
    t.dropColumn('activity_id');
  });
}
