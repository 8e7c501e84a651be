// `npm run bench:assets [-- --runs 10 --concurrency 1]`: conversions per
// minute of the PDF and JPEG fixtures through the whole platform (API →
// Temporal → worker → S3 → Postgres), beside the bare converters
// (pdfinfo/pdftotext/pdftoppm, sharp) on the same files in the same run, both
// with `--concurrency` conversions in flight at a time (the worker runs as many
// activities at once as WORKER_ACTIVITY_CONCURRENCY allows on the assets
// queue). The ratio is what BENCHMARKS.md records. A third side, the FLOOR, does
// what any design must do with an upload besides converting it, with no API,
// Temporal or Postgres: the client's PUT, the server-only copy, one download,
// the clamd scan, the converters and the renditions written to S3.
import { randomUUID } from 'node:crypto';
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
import { loadShape } from './loop';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '10' }, concurrency: { type: 'string', default: '1' } },
});
const RUNS = Number(values.runs);
const CONCURRENCY = Number(values.concurrency);
const tempDirs: string[] = [];

/** `runs` calls of `once`, at most `concurrency` in flight, after as many warm-up calls at once (first LibreOffice/sharp/pdftoppm start, first connections). */
async function perMinute(runs: number, concurrency: number, once: () => Promise<void>): Promise<number> {
  await loadShape(concurrency, concurrency, once);
  return (await loadShape(runs, concurrency, once)).perSecond * 60;
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

/** The floor: the bare converter plus the storage moves and the scan the platform cannot skip. */
async function floor(fixture: string): Promise<() => Promise<void>> {
  const { converter, storage, scanner } = shared().providers;
  const { S3_BUCKET_UPLOADS: uploads, S3_BUCKET_PRIVATE: priv } = shared().config;
  const bytes = await readFixture(fixture);
  const ext = path.extname(fixture);
  return async () => {
    const id = randomUUID();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-floor-'));
    try {
      await storage.put(uploads, `bench-floor/${id}${ext}`, bytes, { contentType: 'application/octet-stream' });
      await storage.copy(uploads, `bench-floor/${id}${ext}`, priv, `bench-floor/${id}/original${ext}`);
      await storage.remove(uploads, `bench-floor/${id}${ext}`);
      const file = path.join(dir, `upload${ext}`);
      await storage.download(priv, `bench-floor/${id}/original${ext}`, file);
      const verdict = await scanner.scan(file);
      if (!verdict.clean) throw new Error(`${fixture} scanned infected`);
      const renditions = ext === '.jpg'
        ? (await converter.imageRenditions(bytes)).renditions.map((r) => r.buffer)
        : [await converter.inspectPdf(file).then(() => converter.pdfThumbnail(file))];
      for (const [i, body] of renditions.entries()) await storage.put(priv, `bench-floor/${id}/r${i}`, body, { contentType: 'application/octet-stream' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
      const platform = await perMinute(RUNS, CONCURRENCY, throughPlatform(fixture));
      const bare = await perMinute(RUNS, CONCURRENCY, await bareConverter(fixture));
      const floorRate = await perMinute(RUNS, CONCURRENCY, await floor(fixture));
      const ratio = (platform / bare).toFixed(3);
      const cells = [platform, bare, floorRate].map((n) => n.toFixed(1)).join(' | ');
      rows.push(`| ${fixture} | ${RUNS} | ${CONCURRENCY} | ${cells} | ${ratio} | ${(floorRate / bare).toFixed(3)} |`);
    }
  });
  const bound = shared().config.WORKER_ACTIVITY_CONCURRENCY[ASSETS_TASK_QUEUE] ?? 'SDK default';
  console.log(`assets queue activity bound: ${bound}; load: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('| fixture | runs | concurrency | platform conversions/min | bare converter conversions/min | FLOOR conversions/min | ratio | FLOOR ratio |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
  await closeShared();
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
