import type { Knex } from 'knex';

/**
 * Exports claim id ranges instead of marking events. A batch is the export row, written
 * (open) before its object and committed after it: claiming and committing no longer
 * write every event twice, and the event table loses the two indexes those writes kept.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('telemetry_exports', (t) => {
    // The batch is every accepted event with after_event_id < id <= through_event_id.
    t.bigInteger('after_event_id');
    t.bigInteger('through_event_id');
    t.timestamp('last_received_at', { useTz: true });
    // Null while the batch is open: claimed, its object perhaps written, not yet committed.
    // Only a claim leaves it null; a row written any other way is a finished export.
    t.timestamp('committed_at', { useTz: true }).defaultTo(knex.fn.now());
    t.index(['through_event_id'], 'telemetry_exports_through_idx');
    t.index(['committed_at'], 'telemetry_exports_committed_at_idx');
  });
  await knex.raw('UPDATE telemetry_exports SET committed_at = created_at');
  await knex.raw('CREATE INDEX telemetry_exports_open_idx ON telemetry_exports (through_event_id) WHERE committed_at IS NULL');

  // The checkpoint becomes "everything up to this id is exported". Events the old design
  // left pending below it (claimed but never committed, or committed out of id order) move
  // it back so none is lost; an event above them that was already exported goes out again.
  await knex.raw(
    `UPDATE telemetry_checkpoints SET last_event_id = least(last_event_id, coalesce(
       (SELECT min(id) - 1 FROM telemetry_events WHERE status = 'accepted' AND exported_at IS NULL), last_event_id))`,
  );
  await knex.raw('DROP INDEX telemetry_events_export_scan_idx');
  await knex.raw('DROP INDEX telemetry_events_open_batch_idx');
  await knex.schema.alterTable('telemetry_events', (t) => {
    t.dropColumn('exported_at');
    t.dropColumn('export_batch_id');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('telemetry_events', (t) => {
    t.timestamp('exported_at', { useTz: true });
    t.text('export_batch_id');
  });
  await knex.raw(
    `UPDATE telemetry_events SET exported_at = now()
     WHERE status = 'accepted' AND id <= (SELECT last_event_id FROM telemetry_checkpoints WHERE name = 'export')`,
  );
  await knex.raw(
    `CREATE INDEX telemetry_events_export_scan_idx ON telemetry_events (id) WHERE status = 'accepted' AND exported_at IS NULL`,
  );
  await knex.raw(
    `CREATE INDEX telemetry_events_open_batch_idx ON telemetry_events (export_batch_id, id)
     WHERE export_batch_id IS NOT NULL AND exported_at IS NULL`,
  );
  await knex.raw('DELETE FROM telemetry_exports WHERE committed_at IS NULL');
  await knex.schema.alterTable('telemetry_exports', (t) => {
    t.dropIndex([], 'telemetry_exports_open_idx');
    t.dropIndex([], 'telemetry_exports_committed_at_idx');
    t.dropIndex([], 'telemetry_exports_through_idx');
    t.dropColumn('committed_at');
    t.dropColumn('last_received_at');
    t.dropColumn('through_event_id');
    t.dropColumn('after_event_id');
  });
}
