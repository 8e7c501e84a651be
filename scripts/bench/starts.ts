// `npm run bench:starts [-- --concurrency 10,20,50 --iterations 1000 --payments 400 --only a|b]`:
// workflow starts per second in Temporal's own load shape, omes' single-workflow scenario (its
// GenericExecutor: a fixed number of iterations, at most `concurrency` in flight, a new one begun as
// soon as one ends, each iteration's latency recorded; starts/s, p50 and p99 per level).
// (a) A bare `client.workflow.start` per iteration on a task queue no worker polls, on the embedded
//     server (TEMPORAL_ADDRESS, the stack's dev server) beside dev servers the bench starts itself on
//     free ports, each with a new database file: one with the dev server's default SQLite settings
//     (the reference), one with the stack's pragmas (scripts/stack.sh TEMPORAL_SQLITE_PRAGMAS), which
//     separates the settings from the embedded server's age and its other clients.
// (b) `POST /api/v1/payments` on the compiled API in a process of its own, a compiled worker process
//     serving the runs, beside a bare client doing the same work in this process (the payments
//     service's row, then the same typed start the API makes, lib/clients/payments) for rows of its own:
//     the difference is the API's own cost (HTTP, auth, validation, its event loop).
// `--candidate journal_mode=wal,synchronous=normal,cache_size=-65536` adds a server with those pragmas.
// (b) leaves its payments pending and their runs waiting for a webhook: run it against a database and
// namespace of its own (DATABASE_URL, TEMPORAL_NAMESPACE), never the test suite's.
// Needs `npm run build` for (b). Ratios are taken within one run; the machine's load is printed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { logger } from '../../lib/logger';
import { connectClient } from '../../lib/temporal';
import { startPaymentCapture } from '../../lib/clients/payments';
import { createPayment, paymentSettingsOf } from '../../services/payments';
import { PAYMENTS_TASK_QUEUE } from '../../workflows/paymentCapture.contract';
import { installRuntime } from '../../workers/runtime';
import { call, tokenFor } from '../../test/support/http';
import { closeShared, shared } from '../../test/support/shared';
import { waitFor } from '../../test/support/wait';
import { freePort, killHard, startApiProcess, startWorkerProcess } from '../../test/support/workerProcess';
import { measured, type Figures } from './loop';

const { values } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '10,20,50' },
    iterations: { type: 'string', default: '1000' },
    payments: { type: 'string', default: '400' },
    only: { type: 'string' },
    /** Comma-separated SQLite pragmas of one more server of the bench's own, to measure before adopting them. */
    candidate: { type: 'string' },
  },
});
const LEVELS = values.concurrency.split(',').map(Number);
const ITERATIONS = Number(values.iterations);
const PAYMENTS = Number(values.payments);
const ROOT = path.resolve(__dirname, '../..');

/** Something the stack runner defines (scripts/stack.sh is sourceable): one place for the CLI and the pragmas. */
function fromStackRunner(script: string): string[] {
  const out = spawnSync('bash', ['-c', `source scripts/stack.sh && ${script}`], { cwd: ROOT, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`scripts/stack.sh: ${out.stderr}`);
  return out.stdout.split('\n').filter(Boolean);
}

interface DevServer {
  client: Client;
  stop: () => Promise<void>;
}

/** A dev server of the bench's own on free ports and a new database file, with `pragmas`. */
async function startDevServer(pragmas: string[]): Promise<DevServer> {
  const [temporal] = fromStackRunner('resolve_temporal && echo "$TEMPORAL"');
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-starts-'));
  const [port, httpPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const args = ['server', 'start-dev', '--db-filename', path.join(dir, 'temporal.db'), '--ip', '127.0.0.1', '--port', String(port),
    '--http-port', String(httpPort), '--metrics-port', String(metricsPort), '--headless', '--log-level', 'error',
    '--dynamic-config-value', 'frontend.enableServerVersionCheck=false', ...pragmas.flatMap((p) => ['--sqlite-pragma', p])];
  const child: ChildProcess = spawn(temporal, args, { env: { ...process.env, TEMPORAL_VERSION_CHECK_DISABLED: '1' }, stdio: 'ignore' });
  const connection = await waitFor('the dev server to answer', () =>
    Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: '1 second' }).catch(() => undefined), 60_000);
  const client = new Client({ connection, namespace: 'default' });
  await waitFor('the default namespace', () => client.workflowService.describeNamespace({ namespace: 'default' }).then(() => true, () => undefined), 60_000);
  return {
    client,
    stop: async () => {
      await connection.close();
      await killHard(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One iteration of (a): a start on a queue nobody polls. They time out after the bench (both parts take ~7 min). */
function bareStart(client: Client, taskQueue: string) {
  return async () => {
    await client.workflow.start('benchStartsUnpolled', { taskQueue, workflowId: `bench-starts-${randomUUID()}`, workflowExecutionTimeout: '10 minutes' });
  };
}

const row = (cells: (string | number)[]) => console.log(`| ${cells.join(' | ')} |`);
const figures = (f: Figures) => [f.perSecond.toFixed(1), f.p50.toFixed(1), f.p99.toFixed(1)];
const load = () => loadavg()[0].toFixed(1);

async function partA(): Promise<Map<number, Figures>> {
  const embedded = await connectClient(shared().config);
  const [reference, tuned] = [await startDevServer([]), await startDevServer(fromStackRunner('printf "%s\\n" "${TEMPORAL_SQLITE_PRAGMAS[@]}"'))];
  const candidate = values.candidate ? await startDevServer(values.candidate.split(',')) : undefined;
  const servers: [string, Client][] = [['embedded (stack)', embedded], ['reference (defaults, new file)', reference.client], ['stack pragmas, new file', tuned.client]];
  if (candidate) servers.push([`candidate ${values.candidate}, new file`, candidate.client]);
  const embeddedAt = new Map<number, Figures>();
  console.log('\n(a) bare starts on an unpolled queue\n');
  row(['concurrency', 'server', 'starts/s', 'p50 ms', 'p99 ms', '× reference', 'load (1 min)']);
  row(['---', '---', '---', '---', '---', '---', '---']);
  try {
    for (const [level, concurrency] of LEVELS.entries()) {
      const results = new Map<string, Figures>();
      // Each level starts with a different server, so none always runs last on a warmer machine.
      for (let k = 0; k < servers.length; k += 1) {
        const [name, client] = servers[(level + k) % servers.length];
        results.set(name, await measured(ITERATIONS, concurrency, bareStart(client, `bench-starts-unpolled-${randomUUID()}`)));
      }
      const ref = results.get('reference (defaults, new file)') as Figures;
      for (const [name] of servers) {
        const f = results.get(name) as Figures;
        row([concurrency, name, ...figures(f), (f.perSecond / ref.perSecond).toFixed(2), load()]);
      }
      embeddedAt.set(concurrency, results.get('embedded (stack)') as Figures);
    }
  } finally {
    await embedded.connection.close();
    await reference.stop();
    await tuned.stop();
    await candidate?.stop();
  }
  return embeddedAt;
}

/** Until the worker process polls the payments queue: its start-up must not land in the first measurement. */
async function workerPolling(client: Client, worker: ChildProcess): Promise<void> {
  const request = { namespace: client.options.namespace, taskQueue: { name: PAYMENTS_TASK_QUEUE }, taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW };
  await waitFor('the worker process to poll the payments queue', async () => {
    const { pollers } = await client.workflowService.describeTaskQueue(request);
    return pollers?.some((p) => p.identity?.startsWith(`${worker.pid}@`)) ? true : undefined;
  }, 120_000);
}

async function partB(bareStarts: Map<number, Figures>): Promise<void> {
  const { config, db } = shared();
  const client = await connectClient(config);
  const worker = startWorkerProcess();
  const api = await startApiProcess({ RATE_LIMIT_BURST: '1000000', RATE_LIMIT_PER_MINUTE: '1000000' });
  await workerPolling(client, worker);
  const token = tokenFor('finance');
  const body = () => ({ customerId: `bench-${randomUUID()}`, amountCents: 5000, currency: 'usd', captureMethod: 'automatic' as const });

  const throughApi = async () => {
    const res = await call(api.url, 'POST', '/api/v1/payments', { token, headers: { 'Idempotency-Key': randomUUID() }, body: body() });
    if (res.status !== 202) throw new Error(`POST /payments answered ${res.status}: ${JSON.stringify(res.body)}`);
  };
  // The API handler's work without the API: keep this in step with POST /api/v1/payments (api/routes/payments.ts).
  const bareClient = async () => {
    const payment = await createPayment(db, paymentSettingsOf(config), { body: body(), key: randomUUID(), staff: true });
    const input = { paymentId: payment.id, captureMethod: payment.captureMethod, authorizationTtlHours: config.PAYMENTS_AUTHORIZATION_TTL_HOURS };
    await startPaymentCapture(client, config, input, 'bench:starts', config.PAYMENTS_CLIENT_SECRET_WAIT_MS);
  };

  console.log('\n(b) payments: the API beside a bare client doing the same work\n');
  row(['concurrency', 'path', 'payments/s', 'p50 ms', 'p99 ms', '× bare client', '× bare starts (a)', 'load (1 min)']);
  row(['---', '---', '---', '---', '---', '---', '---', '---']);
  try {
    for (const [level, concurrency] of LEVELS.entries()) {
      const sides: [string, () => Promise<void>][] = [['API', throughApi], ['bare client', bareClient]];
      if (level % 2) sides.reverse();
      const results = new Map<string, Figures>();
      for (const [name, one] of sides) results.set(name, await measured(PAYMENTS, concurrency, one));
      const bare = results.get('bare client') as Figures;
      for (const [name] of sides.sort()) {
        const f = results.get(name) as Figures;
        const starts = bareStarts.get(concurrency);
        row([concurrency, name, ...figures(f), (f.perSecond / bare.perSecond).toFixed(2), starts ? (f.perSecond / starts.perSecond).toFixed(2) : '–', load()]);
      }
    }
  } finally {
    await killHard(api.child);
    await killHard(worker);
    await client.connection.close();
  }
}

async function main(): Promise<void> {
  installRuntime(logger);
  logger.level = 'warn';
  await shared().db.migrate.latest();
  console.log(`bench:starts ${new Date().toISOString()}, ${ITERATIONS} starts and ${PAYMENTS} payments per level, load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const bareStarts = values.only === 'b' ? new Map<number, Figures>() : await partA();
  if (values.only !== 'a') await partB(bareStarts);
  await closeShared();
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
