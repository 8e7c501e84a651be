import type { Knex } from 'knex';

export const ASSET_STATUSES = ['awaiting_upload', 'processing', 'ready', 'quarantined', 'failed', 'deleted'];

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('assets', (t) => {
    t.uuid('id').primary();
    t.text('owner_id').notNullable();
    t.text('status').notNullable().checkIn(ASSET_STATUSES, 'assets_status_check');
    t.text('kind').notNullable();
    t.text('filename').notNullable();
    t.text('content_type').notNullable();
    t.bigInteger('size_bytes').notNullable();
    t.text('checksum_sha256');
    t.text('upload_key').notNullable();
    t.text('title');
    t.jsonb('metadata').notNullable().defaultTo('{}');
    t.jsonb('scan');
    t.text('failure_reason');
    t.text('search_text');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('deleted_at', { useTz: true });
    t.index(['status', 'created_at'], 'assets_status_created_at_idx');
  });
  // Full-text search over what a learner would type: title, file name and extracted text.
  await knex.raw(`
    ALTER TABLE assets ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
      setweight(to_tsvector('simple', coalesce(title, '')), 'A') ||
      setweight(to_tsvector('simple', regexp_replace(filename, '[._-]+', ' ', 'g')), 'A') ||
      setweight(to_tsvector('simple', coalesce(search_text, '')), 'B')
    ) STORED`);
  await knex.raw('CREATE INDEX assets_search_vector_idx ON assets USING gin (search_vector)');

  await knex.schema.createTable('asset_renditions', (t) => {
    t.bigIncrements('id');
    t.uuid('asset_id').notNullable().references('assets.id').onDelete('CASCADE');
    t.text('name').notNullable();
    t.text('bucket').notNullable();
    t.text('key').notNullable();
    t.text('content_type').notNullable();
    t.bigInteger('size_bytes').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['asset_id', 'name'], { indexName: 'asset_renditions_asset_name_uniq' });
  });

  await knex.schema.createTable('asset_ingestion_events', (t) => {
    t.bigIncrements('id');
    t.uuid('asset_id').notNullable().references('assets.id').onDelete('CASCADE');
    // One row per run and step: a retried activity or a replayed workflow task cannot append twice.
    t.text('event_key').notNullable();
    t.text('step').notNullable();
    t.text('status').notNullable();
    t.jsonb('detail').notNullable().defaultTo('{}');
    t.text('workflow_id');
    t.text('run_id');
    t.text('actor');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['asset_id', 'event_key'], { indexName: 'asset_ingestion_events_dedup_uniq' });
    t.index(['created_at'], 'asset_ingestion_events_created_at_idx');
  });

  await knex.schema.createTable('asset_download_grants', (t) => {
    t.uuid('asset_id').notNullable().references('assets.id').onDelete('CASCADE');
    t.text('user_id').notNullable();
    t.integer('count').notNullable().defaultTo(0);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['asset_id', 'user_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('asset_download_grants');
  await knex.schema.dropTable('asset_ingestion_events');
  await knex.schema.dropTable('asset_renditions');
  await knex.schema.dropTable('assets');
}
