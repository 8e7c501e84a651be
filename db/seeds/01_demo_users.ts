import type { Knex } from 'knex';
import { Roles } from '../../schemas/common';

/** One demo user per role; `npm run token -- --role <role> --sub demo-<role>` signs in as them. */
export async function seed(knex: Knex): Promise<void> {
  const users = Roles.map((role) => ({
    id: `demo-${role}`,
    displayName: `Demo ${role[0].toUpperCase()}${role.slice(1)}`,
    roles: [role],
  }));
  await knex('users').insert(users).onConflict('id').merge(['displayName', 'roles']);
}
