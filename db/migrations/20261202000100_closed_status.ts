import type { Knex } from 'knex';

/**
 * Each process's record keeps the status its run closed with, written by the same
 * statement that records the run's final outcome; a drift check compares it with the
 * run and with the record's current status. Records closed before this migration keep
 * NULL: their run is then compared with the current status alone.
 *
 * Telemetry export rows get none: a row is written once, when its batch commits, and
 * has no status that anything changes later, so there is nothing to drift from.
 */
const RECORD_TABLES = ['assets', 'payments', 'refunds', 'release_runs', 'retention_runs'];

export async function up(knex: Knex): Promise<void> {
  for (const table of RECORD_TABLES) {
    await knex.schema.alterTable(table, (t) => {
      t.text('closed_status');
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of RECORD_TABLES) {
    await knex.schema.alterTable(table, (t) => {
      t.dropColumn('closed_status');
    });
  }
}
