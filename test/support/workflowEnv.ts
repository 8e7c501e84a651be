// Workflows with mocked activities on the time-skipping test server, the way
// temporalio/samples-typescript tests them (SPEC §6): no Postgres, S3, Stripe or Temporal dev
// server, only the test server binary from .tools/. Durable timers (TTLs, change windows,
// retry backoffs) pass in virtual time while a test waits on a run's result.
import { randomUUID } from 'node:crypto';
import type { Workflow, WorkflowResultType } from '@temporalio/common';
import type { WorkflowHandle, WorkflowStartOptions } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { expect } from 'chai';
import { runSearchAttributes } from '../../lib/temporal';
import { progressQuery, type Progress } from '../../workflows/progress';
import { workflowBundle } from './shared';
import { createTimeSkippingEnv } from './timeSkipping';
import { waitFor } from './wait';

/** One test server (search attributes registered) for the enclosing `describe`. */
function useWorkflowEnv(): () => TestWorkflowEnvironment {
  let env: TestWorkflowEnvironment | undefined;
  before(async function () {
    this.timeout(60_000);
    env = await createTimeSkippingEnv();
  });
  after(async () => {
    await env?.teardown();
  });
  return () => {
    if (!env) throw new Error('the test server is not up: call useWorkflowEnv() inside a describe');
    return env;
  };
}

/** One call of a mocked activity. */
export interface ActivityCall {
  name: string;
  args: unknown[];
}

type AnyActivity = (...args: never[]) => Promise<unknown>;

/** Mocked activities (typed against the real ones) that record every call, retries included. */
export class ActivityMocks<T extends Record<keyof T, AnyActivity>> {
  readonly calls: ActivityCall[] = [];
  readonly activities: Partial<T>;

  constructor(impls: Partial<T>) {
    const recorded: Record<string, AnyActivity> = {};
    for (const [name, impl] of Object.entries(impls) as Array<[string, (...args: unknown[]) => Promise<unknown>]>) {
      recorded[name] = (...args: unknown[]) => {
        this.calls.push({ name, args });
        return impl(...args);
      };
    }
    this.activities = recorded as Partial<T>;
  }

  /** The names of the calls, in order. */
  names(): string[] {
    return this.calls.map((c) => c.name);
  }

  /** The arguments of every call of `name`. */
  argsOf(name: keyof T & string): unknown[][] {
    return this.calls.filter((c) => c.name === name).map((c) => c.args);
  }
}

/** How a workflow type is started: its name, its Domain search attribute and its workflow ID. */
export interface WorkflowType<W extends Workflow> {
  type: string;
  domain: string;
  workflowId: (...args: Parameters<W>) => string;
}

/**
 * For one workflow type, in the enclosing `describe`: its test server (`env`) and `run`, which
 * starts a run (Domain and BusinessKey set, as the API does) on a fresh task queue whose worker
 * serves `mocks`, runs `body` with its handle while the worker runs, and answers what `body`
 * answers (by default the run's result).
 */
export function useWorkflowRunner<W extends Workflow>(workflow: WorkflowType<W>) {
  const env = useWorkflowEnv();
  const run = async <R = WorkflowResultType<W>>(
    args: Parameters<W>,
    mocks: { activities: object },
    body: (handle: WorkflowHandle<W>) => Promise<R> = (handle) => handle.result() as Promise<R>,
  ): Promise<R> => {
    const taskQueue = `unit-${workflow.type}-${randomUUID()}`;
    const worker = await Worker.create({
      connection: env().nativeConnection,
      namespace: env().namespace ?? 'default',
      taskQueue,
      workflowBundle: await workflowBundle(),
      activities: mocks.activities,
    });
    const workflowId = workflow.workflowId(...args);
    return worker.runUntil(async () => {
      // The SDK's options type resolves `args` only for a concrete workflow, not for a generic W.
      const options = { taskQueue, workflowId, args, typedSearchAttributes: runSearchAttributes(workflow.domain, workflowId) };
      const handle = await env().client.workflow.start<W>(workflow.type, options as unknown as WorkflowStartOptions<W>);
      try {
        return await body(handle);
      } finally {
        await terminateIfOpen(handle);
      }
    });
  };
  return { env, run };
}

/**
 * A run a failed test left open would keep a timer on the shared test server and, with no worker
 * left for its task queue, stop time skipping for the tests after it.
 */
async function terminateIfOpen(handle: WorkflowHandle): Promise<void> {
  const { status } = await handle.describe();
  if (status.name === 'RUNNING') await handle.terminate('the test is over');
}

/** An activity that always fails as an unreachable provider does: retried until its attempts run out. */
export const unreachable = (message: string) => async (): Promise<never> => {
  throw new Error(message);
};

/** The error `promise` rejects with; an AssertionError when it resolves instead. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => expect.fail(`expected a rejection, got ${JSON.stringify(value)}`),
    (err: unknown) => err,
  );
}

/** Waits (in real time: queries skip no time) until the run's progress stage is `stage`. */
export function untilStage(handle: WorkflowHandle, stage: string): Promise<Progress> {
  return waitFor(`progress stage ${stage}`, async () => {
    const progress = await handle.query(progressQuery);
    return progress.stage === stage ? progress : undefined;
  }, 30_000);
}
