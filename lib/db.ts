import knex, { type Knex } from 'knex';
import { knexSnakeCaseMappers, Model } from 'objection';
import { readdirSync } from 'node:fs';
import path from 'node:path';

export type Db = Knex;

export const MIGRATIONS_DIRECTORY = path.resolve(__dirname, '../db/migrations');
export const SEEDS_DIRECTORY = path.resolve(__dirname, '../db/seeds');

/**
 * The migrations of MIGRATIONS_DIRECTORY, TypeScript sources in development and compiled JavaScript in
 * dist/, recorded under their `.ts` names either way: a database migrated by one is current for the other.
 */
class MigrationFiles implements Knex.MigrationSource<string> {
  constructor(private readonly directory: string) {}

  getMigrations(): Promise<string[]> {
    const files = readdirSync(this.directory).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts'));
    return Promise.resolve(files.sort());
  }

  getMigrationName(file: string): string {
    return file.replace(/\.js$/, '.ts');
  }

  getMigration(file: string): Promise<Knex.Migration> {
    return Promise.resolve(require(path.join(this.directory, file)) as Knex.Migration);
  }
}

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
    migrations: { migrationSource: new MigrationFiles(MIGRATIONS_DIRECTORY), tableName: 'knex_migrations' },
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
