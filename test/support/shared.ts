// What every suite shares: the validated config, one pool, one Temporal client,
// the workflow bundle (built once per test process) and the providers.
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createApp } from '../../api/app';
import { registerDomainGauges } from '../../api/domainMetrics';
import type { AppDeps } from '../../api/deps';
import { RateLimiter } from '../../api/middleware/rateLimit';
import { config as loadConfig, type Config } from '../../lib/config';
import { dataConverterOf } from '../../lib/dataConverter';
import { createDb, type Db } from '../../lib/db';
import { logger } from '../../lib/logger';
import { createApiMetrics } from '../../lib/metrics';
import { connectClient } from '../../lib/temporal';
import { connectWorkerConnection } from '../../workers/connection';
import { createProviders, type Providers } from '../../providers';
import { sdkLogger } from '../../workers/runtime';
import { taskQueueWorkers } from '../../workers/taskQueues';

interface Shared {
  config: Config;
  db: Db;
  providers: Providers;
}

let base: Shared | undefined;
let client: Promise<Client> | undefined;
let workerConnection: Promise<NativeConnection> | undefined;
let bundle: Promise<WorkflowBundle> | undefined;
const servers: Server[] = [];

export function shared(): Shared {
  if (!base) {
    const config = loadConfig();
    const db = createDb(config);
    base = { config, db, providers: createProviders(config, db) };
  }
  return base;
}

export const temporalClient = () => (client ??= connectClient(shared().config));
export const nativeConnection = () => (workerConnection ??= connectWorkerConnection(shared().config));
export const workflowBundle = () =>
  (bundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: sdkLogger(logger, 'WARN') }));

/** A fresh worker for one domain's task queue, with the production activities unless a test swaps some. */
export async function createWorker(taskQueue: string, activityOverrides: object = {}): Promise<Worker> {
  const { config, db, providers } = shared();
  const entry = taskQueueWorkers(config, db, providers).find((w) => w.taskQueue === taskQueue);
  if (!entry) throw new Error(`no worker serves task queue ${taskQueue}`);
  return Worker.create({
    connection: await nativeConnection(),
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: { ...entry.activities, ...activityOverrides },
    dataConverter: dataConverterOf(config),
    maxConcurrentActivityTaskExecutions: entry.maxConcurrentActivityTaskExecutions,
    shutdownGraceTime: '5 seconds',
  });
}

export interface TestApi {
  url: string;
  deps: AppDeps;
}

/** The real Koa app on an ephemeral port, wired to the shared pool and client (or `temporal`). */
export async function startApi(overrides: Partial<Config> = {}, temporal?: Client): Promise<TestApi> {
  const { config, db, providers } = shared();
  const merged = { ...config, ...overrides };
  const deps: AppDeps = {
    config: merged,
    db,
    temporal: temporal ?? (await temporalClient()),
    storage: providers.storage,
    search: providers.search,
    metrics: registerDomainGauges(createApiMetrics(), db),
    logger,
    rateLimiter: new RateLimiter(merged),
  };
  const server = createApp(deps).listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, deps };
}

export async function closeShared(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  if (client) await (await client).connection.close();
  if (workerConnection) await (await workerConnection).close();
  if (base) await base.db.destroy();
  client = workerConnection = bundle = base = undefined;
}
