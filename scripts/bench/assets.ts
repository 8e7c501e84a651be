// `npm run bench:assets [-- --runs 10]`: conversions per minute of the PDF and
// JPEG fixtures through the whole platform (API → Temporal → worker → S3 →
// Postgres), beside the bare converters (pdfinfo/pdftotext/pdftoppm, sharp)
// on the same files in the same run. The ratio is what BENCHMARKS.md records.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { logger } from '../../lib/logger';
import { ASSETS_TASK_QUEUE } from '../../workflows/assetConversion.contract';
import { installRuntime } from '../../workers/runtime';
import { readFixture, uploadAsset } from '../../test/support/assets';
import { call, tokenFor } from '../../test/support/http';
import { closeShared, createWorker, shared, startApi, temporalClient } from '../../test/support/shared';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const RUNS = Number(values.runs);
const tempDirs: string[] = [];

async function perMinute(runs: number, once: () => Promise<void>): Promise<number> {
  await once(); // warm-up: first LibreOffice/sharp/pdftoppm start, first connections
  const started = process.hrtime.bigint();
  for (let i = 0; i < runs; i += 1) await once();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return (runs / seconds) * 60;
}

async function bareConverter(fixture: string): Promise<() => Promise<void>> {
  const { converter } = shared().providers;
  const bytes = await readFixture(fixture);
  if (fixture.endsWith('.jpg')) return async () => void (await converter.imageRenditions(bytes));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-pdf-'));
  tempDirs.push(dir);
  const file = path.join(dir, fixture);
  await writeFile(file, bytes);
  return async () => {
    await converter.inspectPdf(file);
    await converter.pdfThumbnail(file);
  };
}

async function main(): Promise<void> {
  installRuntime(logger);
  logger.level = 'warn';
  await shared().db.migrate.latest();
  const api = await startApi({ RATE_LIMIT_BURST: 100000 });
  const client = await temporalClient();
  const worker = await createWorker(ASSETS_TASK_QUEUE);
  const instructor = tokenFor('instructor');

  const throughPlatform = (fixture: string) => async () => {
    const { id } = await uploadAsset(api.url, instructor, fixture, await readFixture(fixture));
    const ingest = await call(api.url, 'POST', `/api/v1/assets/${id}/ingest`, { token: instructor });
    const result = await client.workflow.getHandle(ingest.body.run.workflowId, ingest.body.run.runId).result();
    if (result.status !== 'ready') throw new Error(`${fixture} ended ${result.status}: ${result.reason}`);
  };

  const rows: string[] = [];
  await worker.runUntil(async () => {
    for (const fixture of ['lecture.pdf', 'photo.jpg']) {
      const platform = await perMinute(RUNS, throughPlatform(fixture));
      const bare = await perMinute(RUNS, await bareConverter(fixture));
      rows.push(`| ${fixture} | ${RUNS} | ${platform.toFixed(1)} | ${bare.toFixed(1)} | ${(platform / bare).toFixed(3)} |`);
    }
  });
  console.log('| fixture | runs | platform conversions/min | bare converter conversions/min | ratio |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
  await closeShared();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
