// `npm run bench:worker-startup [-- --runs 5]`: how long a worker process takes from spawn to polling
// (its `worker started` log line) and its resident memory then, compiled (`node dist/workers/main.js`,
// the prebuilt workflow bundle) beside the development form (`node --import tsx workers/main.ts`, which
// compiles on the fly and bundles the workflows at start), in the same run. Needs `npm run build` and
// the stack (make up or make test's set-up); uses the test database and namespace.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { compiledEntrypoint } from '../../test/support/workerProcess';

const ROOT = path.resolve(__dirname, '../..');
const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(values.runs);

const residentMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** Spawns the worker, waits for its `worker started` line, reads its RSS, stops it. */
function startOnce(args: string[]): Promise<{ seconds: number; rssMiB: number }> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', WORKER_METRICS_PORT: '0', TELEMETRY_EXPORT_RUN_ON_STARTUP: 'false' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it started: ${output.slice(-500)}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (!output.includes('"worker started"')) return;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const rssMiB = residentMiB(child.pid as number);
      child.removeAllListeners('exit');
      child.once('exit', () => resolve({ seconds, rssMiB }));
      child.kill('SIGTERM');
    });
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function measure(label: string, args: string[]) {
  const runs = [];
  for (let i = 0; i < RUNS; i += 1) runs.push(await startOnce(args));
  const seconds = median(runs.map((r) => r.seconds));
  const rss = median(runs.map((r) => r.rssMiB));
  console.log(`${label.padEnd(34)} start ${seconds.toFixed(2)} s   RSS ${rss.toFixed(0)} MiB   (median of ${RUNS})`);
  return { seconds, rss };
}

async function main(): Promise<void> {
  const compiled = await measure('compiled, prebuilt bundle', [compiledEntrypoint('workers/main.ts')]);
  const tsx = await measure('tsx, bundled at start (baseline)', ['--import', 'tsx', 'workers/main.ts']);
  console.log(`ratio (baseline / compiled): start ${(tsx.seconds / compiled.seconds).toFixed(2)}x, RSS ${(tsx.rss / compiled.rss).toFixed(2)}x`);
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
