// The floor lines of `bench:releases`: Update round trips with nothing of the platform around them, on the
// bench's own server, connection and worker setup, so a run shows how much of an evaluation Temporal sets.
import { randomUUID } from 'node:crypto';
import { bundleWorkflowCode, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { Config } from '../../lib/config';
import { dataConverterOf } from '../../lib/dataConverter';
import { logger } from '../../lib/logger';
import { nativeConnection } from '../../test/support/shared';
import { sdkLogger } from '../../workers/runtime';
import { localNoopUpdate, localWriteUpdate, noopUpdate, stopSignal, updateFloor } from './updateFloor.workflows';

export interface FloorActivities {
  floorNoop(): Promise<void>;
  /** The bare side's durable write, the one an evaluation's local activity makes. */
  floorWrite(i: number): Promise<void>;
}

const FLOOR_TASK_QUEUE = 'bench-update-floor';

export interface Floor {
  worker: Worker;
  /** A no-op Update; one whose handler runs a no-op local activity; one whose local activity makes the write. */
  sides: Record<'noop' | 'localNoop' | 'localWrite', (i: number) => Promise<void>>;
  /** Ends the floor's run; call it while the worker still runs, which completes it. */
  stop(): Promise<void>;
}

/** `options` override the worker's (e.g. a candidate setting), on a task queue of their own when `name` is given. */
export async function startFloor(
  config: Config,
  client: Client,
  write: (i: number) => Promise<void>,
  options: Partial<WorkerOptions> = {},
  name = 'default',
): Promise<Floor> {
  const taskQueue = `${FLOOR_TASK_QUEUE}-${name}`;
  const worker = await Worker.create({
    connection: await nativeConnection(),
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue,
    workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('./updateFloor.workflows'), logger: sdkLogger(logger, 'WARN') }),
    activities: { floorNoop: async () => undefined, floorWrite: write } satisfies FloorActivities,
    dataConverter: dataConverterOf(config),
    ...options,
  });
  // A bench that dies before its stop signal leaves no run open for long.
  const handle = await client.workflow.start(updateFloor, {
    taskQueue,
    workflowId: `bench-update-floor-${randomUUID()}`,
    workflowExecutionTimeout: '1 hour',
  });
  return {
    worker,
    sides: {
      noop: async (i) => void (await handle.executeUpdate(noopUpdate, { args: [i] })),
      localNoop: async (i) => void (await handle.executeUpdate(localNoopUpdate, { args: [i] })),
      localWrite: async (i) => void (await handle.executeUpdate(localWriteUpdate, { args: [i] })),
    },
    stop: async () => {
      await handle.signal(stopSignal);
      await handle.result();
    },
  };
}
