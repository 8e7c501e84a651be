// What every activity may need from its Temporal context.
import { ApplicationFailure, Context } from '@temporalio/activity';

const HEARTBEAT_EVERY_MS = 5000;

/** Heartbeats while `work` runs, so a dead worker is noticed at the heartbeat timeout, not the start-to-close one. */
export async function whileHeartbeating<T>(work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** The workflow run the current activity works for. */
export function currentRun(): { workflowId: string; runId: string } {
  const run = Context.current().info.workflowExecution;
  if (!run) throw ApplicationFailure.nonRetryable('this activity runs only inside a workflow', 'NoWorkflowContext');
  return run;
}

/** The run this activity works for, as `run.failed` reports it once the run is about to fail with `failure`. */
export function failingRun(failure: string): { workflowId: string; runId: string; type: string; failure: string } {
  const { workflowType } = Context.current().info;
  return { ...currentRun(), type: workflowType ?? 'unknown', failure };
}

/** This activity call (its id within the run, shared by its retries) and which attempt this is. */
export function currentCall(): { activityId: string; attempt: number } {
  const { activityId, attempt } = Context.current().info;
  return { activityId, attempt };
}
