// The worker process: every domain's task queue (or those in WORKER_TASK_QUEUES), one workflow bundle (prebuilt), SDK
// metrics on WORKER_METRICS_PORT, graceful shutdown on SIGTERM/SIGINT. Schedules are synced by `npm run schedules:sync`.
import { Worker } from '@temporalio/worker';
import { loadConfigOrExit } from '../lib/config';
import { dataConverterOf } from '../lib/dataConverter';
import { createDb } from '../lib/db';
import { logger } from '../lib/logger';
import { connectWorkerConnection } from './connection';
import { createProviders } from '../providers';
import { workflowBundle as loadWorkflowBundle } from './bundle';
import { installRuntime } from './runtime';
import { taskQueueWorkers, type TaskQueueWorker } from './taskQueues';
import { connectClient } from '../lib/temporal';
import { NOTIFICATIONS_TASK_QUEUE } from '../workflows/webhookDelivery.contract';
import { startDispatcher, type Dispatcher } from './dispatcher';

/** The task queues named in WORKER_TASK_QUEUES (all of them when it is empty). */
function servedTaskQueues(all: TaskQueueWorker[], wanted: readonly string[]): TaskQueueWorker[] {
  const unknown = wanted.filter((name) => !all.some((w) => w.taskQueue === name));
  if (unknown.length) {
    throw new Error(`WORKER_TASK_QUEUES: unknown task queue(s) ${unknown.join(', ')}; known: ${all.map((w) => w.taskQueue).join(', ')}`);
  }
  return wanted.length ? all.filter((w) => wanted.includes(w.taskQueue)) : all;
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  logger.level = config.LOG_LEVEL;
  installRuntime(logger, config.WORKER_METRICS_PORT || undefined);

  const db = createDb(config);
  const connection = await connectWorkerConnection(config);
  const workflowBundle = await loadWorkflowBundle(logger);
  const providers = createProviders(config, db);
  const served = servedTaskQueues(taskQueueWorkers(config, db, providers), config.WORKER_TASK_QUEUES);

  // The SDK runtime shuts every worker down on SIGTERM/SIGINT; in-flight
  // activities get the grace time to finish before they are cancelled.
  const workers = await Promise.all(
    served.map(({ taskQueue, activities, maxConcurrentActivityTaskExecutions }) =>
      Worker.create({
        connection,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue,
        workflowBundle,
        activities,
        dataConverter: dataConverterOf(config),
        maxConcurrentActivityTaskExecutions,
        shutdownGraceTime: `${config.WORKER_SHUTDOWN_GRACE_SECONDS} seconds`,
      }),
    ),
  );
  logger.info('worker started', {
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueues: workers.map((w) => w.options.taskQueue),
    metrics: config.WORKER_METRICS_PORT ? `http://127.0.0.1:${config.WORKER_METRICS_PORT}/metrics` : 'off',
  });
  // The outbox is dispatched by the workers that deliver it (a short poll; see the README).
  let dispatcher: Dispatcher | undefined;
  const dispatching = config.WEBHOOK_DISPATCH_ENABLED && served.some((w) => w.taskQueue === NOTIFICATIONS_TASK_QUEUE);
  const client = dispatching ? await connectClient(config) : undefined;
  if (client) dispatcher = startDispatcher(config, db, client, logger);
  try {
    await Promise.all(workers.map((w) => w.run()));
  } finally {
    await dispatcher?.stop();
    await client?.connection.close();
    await connection.close();
    await db.destroy();
    logger.info('worker stopped');
  }
}

main().catch((err: Error) => {
  logger.error('worker failed', { err });
  process.exit(1);
});
