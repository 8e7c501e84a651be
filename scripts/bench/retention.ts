// `npm run bench:retention [-- --rows 1000000 --batch 1000]`: rows per second of a live
// retentionRun (API-less: the workflow on an in-process worker, keyset batches of
// --batch rows, one transaction each, cursor and counts committed with every batch)
// over N expired asset ingestion events, beside one unbatched `DELETE` of N other
// expired rows in the same run. The ratio is what BENCHMARKS.md records.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createRetentionActivities, retentionActivityDeps } from '../../activities/retention';
import { logger } from '../../lib/logger';
import { RETENTION_TASK_QUEUE } from '../../workflows/retentionRun.contract';
import { installRuntime } from '../../workers/runtime';
import { insertAsset, insertEventsBefore, startRetentionRun, DAY_MS } from '../../test/support/retention';
import { closeShared, createWorker, shared } from '../../test/support/shared';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, batch: { type: 'string' } } });
const ROWS = Number(values.rows);
const INSERT_CHUNK = 100_000;

const seconds = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;

async function main(): Promise<void> {
  installRuntime(logger);
  logger.level = 'warn';
  const { db, config, providers } = shared();
  await db.migrate.latest();
  const batchSize = Number(values.batch ?? config.DATA_RETENTION_BATCH_SIZE);
  const asOf = new Date();
  const cutoff = new Date(asOf.getTime() - 365 * DAY_MS);
  const holder = await insertAsset(db, { ownerId: 'bench-retention', status: 'ready', createdAt: asOf });
  const prepare = async (step: string) => {
    // In chunks: one statement per million rows would outlast DATABASE_STATEMENT_TIMEOUT_MS.
    for (let done = 0; done < ROWS; done += INSERT_CHUNK) {
      const before = new Date(cutoff.getTime() - done * 1000);
      await insertEventsBefore(db, holder.id, step, before, Math.min(INSERT_CHUNK, ROWS - done));
    }
    await db.raw('vacuum analyze asset_ingestion_events');
  };

  // The platform: a live run of one policy over ROWS expired rows.
  const platformStep = `bench-platform-${randomUUID()}`;
  await prepare(platformStep);
  const policyId = randomUUID();
  await db('data_retention_policies').insert({ id: policyId, entity: 'asset_ingestion_events', action: 'hard-delete', retentionDays: 365, criteria: { step: platformStep }, active: false });
  const worker = await createWorker(
    RETENTION_TASK_QUEUE,
    createRetentionActivities({ ...retentionActivityDeps(config, db, providers.storage), batchSize }),
  );
  const platformStarted = process.hrtime.bigint();
  const result = await worker.runUntil(async () => {
    const handle = await startRetentionRun({ retentionRunId: randomUUID(), dryRun: false, policyIds: [policyId], asOf: asOf.toISOString() });
    return handle.result();
  });
  const platformSeconds = seconds(platformStarted);
  if (result.policies[0]?.affected !== ROWS) throw new Error(`the run deleted ${result.policies[0]?.affected} rows, not ${ROWS}`);

  // The baseline: one DELETE of the same number of rows, same table, same predicate shape.
  const baselineStep = `bench-baseline-${randomUUID()}`;
  await prepare(baselineStep);
  const baselineStarted = process.hrtime.bigint();
  const deleted = await db.transaction(async (trx) => {
    // One statement over every row may take longer than the platform's statement timeout.
    await trx.raw('set local statement_timeout = 0');
    return Number(await trx('asset_ingestion_events').where('step', baselineStep).andWhere('createdAt', '<', cutoff).delete());
  });
  const baselineSeconds = seconds(baselineStarted);
  if (deleted !== ROWS) throw new Error(`the DELETE removed ${deleted} rows, not ${ROWS}`);

  const platformRate = ROWS / platformSeconds;
  const baselineRate = ROWS / baselineSeconds;
  console.log('| rows | batch | platform rows/s | one DELETE rows/s | ratio |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(`| ${ROWS} | ${batchSize} | ${platformRate.toFixed(0)} | ${baselineRate.toFixed(0)} | ${(platformRate / baselineRate).toFixed(3)} |`);
  await db('assets').where('id', holder.id).delete();
  await closeShared();
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
