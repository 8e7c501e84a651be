// What every domain client does with Temporal: calls under a deadline, typed starts that
// answer the run already holding a business key, and the latest run of a workflow ID.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { UpdateDefinition, Workflow } from '@temporalio/common';
import type { Run } from '../../schemas/common';
import { describeRun, runningRun, runSearchAttributes, type TemporalSettings } from '../temporal';
import { updateErrorOf, type UpdateOutcomes } from './updateErrors';

/**
 * gRPC deadlines of the API's calls to Temporal, in one place: a slow or absent cluster or worker
 * answers an error instead of a hanging request.
 */
export const DEADLINES_MS = {
  /** Starts, describes, signals, lists and schedule operations. */
  call: 10_000,
  /** A running conversion is asked where it is only briefly: its record answers otherwise. */
  progressQuery: 2_000,
  /** How long a payments worker has to accept a capture or cancel before the API answers 503. */
  paymentUpdate: 15_000,
  /** A release update waits for the workflow to record the evaluation (at most ~15 s of activity retries). */
  releaseUpdate: 30_000,
} as const;

/** Runs `call` with every gRPC request it makes bounded by `timeoutMs` from now. */
export function withDeadline<T>(client: Client, call: () => Promise<T>, timeoutMs: number = DEADLINES_MS.call): Promise<T> {
  return client.withDeadline(Date.now() + timeoutMs, call);
}

/** A start of workflow `W`: its arguments are checked against the workflow function's parameters. */
export interface WorkflowStart<W extends Workflow> {
  /** Type name, task queue and domain, from the workflow's contract module. */
  workflowType: string;
  taskQueue: string;
  domain: string;
  workflowId: string;
  args: Parameters<W>;
  businessKey: string;
  summary: string;
  /** Start a new run even when a closed one holds this ID (a deliberate re-run). */
  allowRerun?: boolean;
}

/**
 * Starts a run, or answers the run that already holds this business key
 * (running or closed): a repeated request never starts a second run. One round trip when the start
 * succeeds: its answer names the run (the new one, or the running one USE_EXISTING attached to), and
 * that run was running when the server answered. Only a closed holder is described.
 */
export function startOrGetRun<W extends Workflow>(client: Client, settings: TemporalSettings, start: WorkflowStart<W>): Promise<Run> {
  return withDeadline(client, async () => {
    try {
      const handle = await client.workflow.start<Workflow>(start.workflowType, startOptionsOf(start));
      return runningRun(settings, start.workflowType, start.workflowId, handle.firstExecutionRunId);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      return describeRun(settings, client.workflow.getHandle(start.workflowId));
    }
  });
}

/** The options of a start that joins the run already holding the ID (a repeated request never starts a second run). */
export function startOptionsOf<W extends Workflow>(start: WorkflowStart<W>) {
  return {
    workflowId: start.workflowId,
    taskQueue: start.taskQueue,
    args: start.args,
    workflowIdConflictPolicy: 'USE_EXISTING' as const,
    workflowIdReusePolicy: start.allowRerun ? ('ALLOW_DUPLICATE' as const) : ('REJECT_DUPLICATE' as const),
    typedSearchAttributes: runSearchAttributes(start.domain, start.businessKey),
    staticSummary: start.summary,
  };
}

/** The latest run of a workflow ID, or null when there is none. */
export async function latestRunOrNull(client: Client, settings: TemporalSettings, workflowId: string): Promise<Run | null> {
  try {
    return await withDeadline(client, () => describeRun(settings, client.workflow.getHandle(workflowId)));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

/** Sends an Update and waits for its result; every way it can fail becomes the API error `outcomes` names. */
export async function executeUpdate<Ret, Arg>(
  client: Client,
  workflowId: string,
  update: UpdateDefinition<Ret, [Arg]>,
  arg: Arg,
  timeoutMs: number,
  outcomes: UpdateOutcomes,
): Promise<Ret> {
  try {
    return await withDeadline(client, () => client.workflow.getHandle(workflowId).executeUpdate(update, { args: [arg] }), timeoutMs);
  } catch (err) {
    throw updateErrorOf(err, outcomes);
  }
}
