// Our real entrypoints in processes of their own, compiled as deployed (`npm run build` first; make test
// does it): a chaos test can SIGKILL a worker, and a benchmark can time the API without its own client
// sharing the API's event loop.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { waitFor } from './wait';

const ROOT = path.resolve(__dirname, '../..');

/** The compiled form of a TypeScript entrypoint, e.g. `workers/main.ts` → `dist/workers/main.js`. */
export function compiledEntrypoint(entry: string): string {
  const compiled = path.join('dist', entry.replace(/\.ts$/, '.js'));
  if (!existsSync(path.join(ROOT, compiled))) throw new Error(`${compiled} is missing: run 'npm run build'`);
  return compiled;
}

function startEntrypoint(entry: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [compiledEntrypoint(entry)], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** The compiled `workers/main.ts` with the test's environment plus `env`. */
export function startWorkerProcess(env: Record<string, string> = {}): ChildProcess {
  return startEntrypoint('workers/main.ts', { WORKER_METRICS_PORT: '0', ...env });
}

/** A local port nothing listens on: bound once, then released. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The compiled `api/server.ts` with the test's environment plus `env`, on a free port, once it answers /health. */
export async function startApiProcess(env: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = startEntrypoint('api/server.ts', { HOST: '127.0.0.1', PORT: String(port), ...env });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('the API process to answer /health', async () => ((await fetch(`${url}/health`).catch(() => null))?.ok ? true : undefined));
  return { url, child };
}

export async function killHard(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return;
  const exited = new Promise((r) => worker.once('exit', r));
  worker.kill('SIGKILL');
  await exited;
}
