import knex, { type Knex } from 'knex';
import { knexSnakeCaseMappers, Model } from 'objection';
import path from 'node:path';

export type Db = Knex;

export const MIGRATIONS_DIRECTORY = path.resolve(__dirname, '../db/migrations');
export const SEEDS_DIRECTORY = path.resolve(__dirname, '../db/seeds');

export interface DbSettings {
  DATABASE_URL: string;
  DATABASE_POOL_MAX: number;
  DATABASE_STATEMENT_TIMEOUT_MS: number;
}

export function knexConfig(settings: DbSettings): Knex.Config {
  return {
    client: 'pg',
    connection: {
      connectionString: settings.DATABASE_URL,
      statement_timeout: settings.DATABASE_STATEMENT_TIMEOUT_MS,
      connectionTimeoutMillis: 5000,
    },
    pool: { min: 0, max: settings.DATABASE_POOL_MAX },
    acquireConnectionTimeout: 10000,
    migrations: { directory: MIGRATIONS_DIRECTORY, loadExtensions: ['.ts', '.js'], tableName: 'knex_migrations' },
    seeds: { directory: SEEDS_DIRECTORY, loadExtensions: ['.ts', '.js'] },
    // Columns are snake_case in Postgres and camelCase in code, in models and plain queries alike.
    ...knexSnakeCaseMappers(),
  };
}

/** Opens the pool and binds Objection's models to it. */
export function createDb(settings: DbSettings): Db {
  const db = knex(knexConfig(settings));
  Model.knex(db);
  return db;
}

/** Pending migrations, for /ready: an empty list means the schema is current. */
export async function pendingMigrations(db: Db): Promise<string[]> {
  const [, pending] = (await db.migrate.list()) as [unknown[], Array<{ file: string } | string>];
  return pending.map((m) => (typeof m === 'string' ? m : m.file));
}
