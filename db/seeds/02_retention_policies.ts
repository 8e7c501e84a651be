import type { Knex } from 'knex';
import { DEFAULT_POLICIES } from '../retentionEntities';

/** The default retention policies of SPEC §4.5; a policy an admin already changed is left as it is. */
export async function seed(knex: Knex): Promise<void> {
  await knex('data_retention_policies')
    .insert(DEFAULT_POLICIES.map((p) => ({ ...p, criteria: {}, active: true })))
    .onConflict('id')
    .ignore();
}
