// What every scenario does with its runs: wait for their results through outages, and start N of something.
import type { WorkflowHandle } from '@temporalio/client';
import { temporalClient } from '../../support/shared';
import { waitFor } from '../../support/wait';

export interface RunRef {
  workflowId: string;
  runId?: string;
}

/** The result of a run, asked again while Temporal is away (a restart drops the long poll). */
export async function settledResult<T>(run: RunRef): Promise<T> {
  return waitFor(`${run.workflowId} to settle`, async () => {
    const client = await temporalClient();
    const handle: WorkflowHandle = client.workflow.getHandle(run.workflowId, run.runId);
    return (await handle.result().catch((err: Error) => (isTransient(err) ? undefined : Promise.reject(err)))) as T | undefined;
  }, 180_000);
}

/** How many of `runs` are still running (asked before a fault: was it injected while they were in flight?). */
export async function stillRunning(runs: RunRef[]): Promise<number> {
  const client = await temporalClient();
  const states = await Promise.all(runs.map((r) => client.workflow.getHandle(r.workflowId, r.runId).describe()));
  return states.filter((s) => s.status.name === 'RUNNING').length;
}

/** Connection-level failures while a part restarts, not a run that failed. */
function isTransient(err: Error): boolean {
  return !/WorkflowFailedError|TerminatedFailure|CancelledFailure/.test(err.name) && !/workflow execution failed/i.test(err.message);
}

export const times = <T>(n: number, make: (i: number) => Promise<T>): Promise<T[]> => Promise.all(Array.from({ length: n }, (_, i) => make(i)));
