import type { Knex } from 'knex';

/**
 * Retention walks asset_ingestion_events in keyset order (created_at, id). On an index of
 * created_at alone every batch re-sorts its rows by id (and a run of rows sharing one
 * created_at is read again by every batch that starts inside it); on (created_at, id) the
 * batch is a plain index range. It replaces the created_at index, which served only the
 * retention cut-off scan, so inserts keep the same number of indexes.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('asset_ingestion_events', (t) => {
    t.index(['created_at', 'id'], 'asset_ingestion_events_created_at_id_idx');
    t.dropIndex(['created_at'], 'asset_ingestion_events_created_at_idx');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('asset_ingestion_events', (t) => {
    t.index(['created_at'], 'asset_ingestion_events_created_at_idx');
    t.dropIndex(['created_at', 'id'], 'asset_ingestion_events_created_at_id_idx');
  });
}
