// `npm run migrate` / `npm run seed`: applies migrations or seeds to DATABASE_URL.
import { loadConfigOrExit } from '../lib/config';
import { createDb } from '../lib/db';

async function main(command: string): Promise<void> {
  const db = createDb(loadConfigOrExit());
  try {
    if (command === 'latest') {
      const [batch, files] = await db.migrate.latest();
      console.log(files.length ? `migrated batch ${batch}: ${files.join(', ')}` : 'migrations: already current');
    } else if (command === 'rollback') {
      const [, files] = await db.migrate.rollback();
      console.log(`rolled back: ${files.join(', ') || 'nothing'}`);
    } else if (command === 'seed') {
      const [files] = await db.seed.run();
      console.log(`seeded: ${files.length} file(s)`);
    } else {
      throw new Error(`unknown command "${command}" (latest, rollback, seed)`);
    }
  } finally {
    await db.destroy();
  }
}

main(process.argv[2] ?? 'latest').catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
