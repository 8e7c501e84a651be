// Runs as operators and support staff see them: found through Temporal
// visibility, described, canceled and replayed (reset to the first workflow
// task, or restarted with the original input). Every call runs under a deadline.
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { decodeArrayFromPayloads, decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import type { Run } from '../../schemas/common';
import { badRequest, conflict, notFound } from '../errors';
import { PayloadDecryptionError } from '../payloadCodec';
import type { RunItem } from '../../schemas/runs';
import { BUSINESS_KEY, describeRun, runUiUrl, statusName, type TemporalSettings } from '../temporal';
import { eachBounded } from '../bounded';
import { withDeadline } from './calls';

type RawExecutionInfo = temporal.api.workflow.v1.IWorkflowExecutionInfo;
const EventType = temporal.api.enums.v1.EventType;

export interface RunFilter {
  type?: string;
  status?: string;
  businessKey?: string;
  since?: string;
}

const quoted = (value: string) => `"${value.replace(/["\\]/g, '')}"`;

/** A visibility query from already-validated filter values. */
export function visibilityQuery(filter: RunFilter): string {
  const clauses: string[] = [];
  if (filter.type) clauses.push(`WorkflowType = ${quoted(filter.type)}`);
  if (filter.status) clauses.push(`ExecutionStatus = ${quoted(filter.status)}`);
  if (filter.businessKey) clauses.push(`BusinessKey = ${quoted(filter.businessKey)}`);
  if (filter.since) clauses.push(`StartTime >= ${quoted(new Date(filter.since).toISOString())}`);
  return clauses.join(' AND ');
}

function statusOf(code: temporal.api.enums.v1.WorkflowExecutionStatus | null | undefined): Run['status'] {
  const name = temporal.api.enums.v1.WorkflowExecutionStatus[code ?? 0] ?? '';
  return statusName(name.replace('WORKFLOW_EXECUTION_STATUS_', ''));
}

export function runItemOf(settings: TemporalSettings, raw: RawExecutionInfo): RunItem {
  const workflowId = raw.execution?.workflowId ?? '';
  const runId = raw.execution?.runId ?? '';
  return {
    workflowId,
    runId,
    type: raw.type?.name ?? 'unknown',
    status: statusOf(raw.status),
    businessKey: decodeTypedSearchAttributes(raw.searchAttributes?.indexedFields).get(BUSINESS_KEY) ?? null,
    startedAt: optionalTsToDate(raw.startTime)?.toISOString() ?? null,
    closedAt: optionalTsToDate(raw.closeTime)?.toISOString() ?? null,
    uiUrl: runUiUrl(settings, workflowId, runId),
  };
}

/** One page of runs, newest first, with Temporal's page token as the cursor. */
export async function listRuns(client: Client, settings: TemporalSettings, filter: RunFilter, limit: number, cursor?: string) {
  const request = {
    namespace: client.options.namespace,
    query: visibilityQuery(filter),
    pageSize: limit,
    nextPageToken: cursor ? Buffer.from(cursor, 'base64url') : undefined,
  };
  const response = await withDeadline(client, () => client.workflowService.listWorkflowExecutions(request)).catch((err: unknown) => {
    // Temporal cannot tell a forged page token from a bug of its own; with a cursor it is the cursor.
    if (cursor) throw badRequest('INVALID_CURSOR', 'the cursor is not one this API issued', [{ path: 'query/cursor', message: 'is invalid' }]);
    throw err;
  });
  const token = response.nextPageToken?.length ? Buffer.from(response.nextPageToken).toString('base64url') : null;
  return { items: (response.executions ?? []).map((raw) => runItemOf(settings, raw)), nextCursor: token };
}

/** Every run matching the filter (bounded), for bulk replays. */
export async function allRuns(client: Client, settings: TemporalSettings, filter: RunFilter, max = 1000): Promise<RunItem[]> {
  const runs: RunItem[] = [];
  let cursor: string | undefined;
  do {
    const pageOf = await listRuns(client, settings, filter, 100, cursor);
    runs.push(...pageOf.items);
    cursor = pageOf.nextCursor ?? undefined;
  } while (cursor && runs.length < max);
  return runs.slice(0, max);
}

async function historyEvents(client: Client, workflowId: string, runId: string, closeOnly = false) {
  const events: temporal.api.history.v1.IHistoryEvent[] = [];
  let nextPageToken: Uint8Array | undefined;
  do {
    const request = {
      namespace: client.options.namespace,
      execution: { workflowId, runId },
      nextPageToken,
      historyEventFilterType: closeOnly
        ? temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT
        : undefined,
    };
    const page = await withDeadline(client, () => client.workflowService.getWorkflowExecutionHistory(request));
    events.push(...(page.history?.events ?? []));
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return events;
}

function messageChain(err: unknown): string | null {
  if (!(err instanceof Error)) return null;
  const cause = messageChain(err.cause);
  return cause ? `${err.message}: ${cause}` : err.message;
}

/**
 * A failure's message with its causes'. Read through the client's data converter: with encrypted
 * payloads (SPEC §3) the messages are in each failure's encrypted attributes.
 */
async function failureMessage(client: Client, failure: temporal.api.failure.v1.IFailure | null | undefined): Promise<string | null> {
  try {
    return messageChain(await decodeOptionalFailureToOptionalError(client.options.loadedDataConverter, failure ?? undefined));
  } catch (err) {
    // A key removed too early: say so rather than fail the whole description.
    if (err instanceof PayloadDecryptionError) return `${failure?.message ?? ''} (${err.message})`;
    throw err;
  }
}

/** One run of a workflow ID (its latest without `runId`). */
export function describeRunOf(client: Client, settings: TemporalSettings, workflowId: string, runId?: string): Promise<Run> {
  return withDeadline(client, () => describeRun(settings, client.workflow.getHandle(workflowId, runId)));
}

/** The latest run of a workflow ID with why it failed, what it is waiting on, and how long its history is (404 when there is none). */
export async function latestRunDetail(client: Client, settings: TemporalSettings, workflowId: string) {
  const description = await withDeadline(client, () => client.workflow.getHandle(workflowId).describe()).catch((err: unknown) => {
    throw err instanceof WorkflowNotFoundError ? notFound('run') : err;
  });
  const raw = description.raw;
  const item = runItemOf(settings, raw.workflowExecutionInfo ?? {});
  let failure: string | null = null;
  if (item.status !== 'Running') {
    const [closeEvent] = await historyEvents(client, workflowId, item.runId, true);
    failure =
      (await failureMessage(client, closeEvent?.workflowExecutionFailedEventAttributes?.failure)) ??
      (closeEvent?.workflowExecutionTimedOutEventAttributes ? 'the run timed out' : null) ??
      (closeEvent?.workflowExecutionTerminatedEventAttributes?.reason || null);
  }
  const pendingActivities = await Promise.all(
    (raw.pendingActivities ?? []).map(async (a) => ({
      activityType: a.activityType?.name ?? 'unknown',
      attempt: a.attempt ?? 1,
      lastFailure: await failureMessage(client, a.lastFailure),
    })),
  );
  return {
    ...item,
    failure,
    pendingActivities,
    historyLength: Number(raw.workflowExecutionInfo?.historyLength ?? 0),
  };
}

/** Re-runs a closed run from its first workflow task (the WorkflowService reset call). */
export async function resetRun(client: Client, workflowId: string, runId: string, reason: string): Promise<string> {
  const events = await historyEvents(client, workflowId, runId);
  const firstTask = events.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
  if (!firstTask?.eventId) throw conflict('RUN_NOT_RESETTABLE', `run ${runId} never completed a workflow task; restart it instead`);
  const request = {
    namespace: client.options.namespace,
    workflowExecution: { workflowId, runId },
    reason,
    workflowTaskFinishEventId: firstTask.eventId,
    requestId: randomUUID(),
  };
  const response = await withDeadline(client, () => client.workflowService.resetWorkflowExecution(request));
  return response.runId as string;
}

/**
 * Starts a fresh run under the same workflow ID with the original input, task queue and search attributes.
 * The one start by recorded type name: it repeats a start that a typed domain client made.
 */
export async function restartRun(client: Client, workflowId: string, runId: string): Promise<string> {
  const [started] = await historyEvents(client, workflowId, runId);
  const attributes = started?.workflowExecutionStartedEventAttributes;
  if (!attributes?.workflowType?.name || !attributes.taskQueue?.name) throw new Error(`run ${runId} has no start event`);
  const options = {
    workflowId,
    taskQueue: attributes.taskQueue.name,
    args: await decodeArrayFromPayloads(client.options.loadedDataConverter, attributes.input?.payloads),
    typedSearchAttributes: decodeTypedSearchAttributes(attributes.searchAttributes?.indexedFields),
    workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY' as const,
    staticSummary: `restart of run ${runId}`,
  };
  const handle = await withDeadline(client, () => client.workflow.start(attributes.workflowType?.name as string, options));
  return handle.firstExecutionRunId;
}

/** Asks a running run to cancel; the workflow runs its own clean-up. */
export function cancelRun(client: Client, workflowId: string, runId: string): Promise<void> {
  return withDeadline(client, async () => {
    await client.workflow.getHandle(workflowId, runId).cancel();
  });
}

/** A closed run that is still its workflow's latest, with what it returned (null unless it completed). */
export interface ClosedRun {
  workflowId: string;
  runId: string;
  type: string;
  status: Run['status'];
  closedAt: string | null;
  result: unknown;
}

/** Calls to Temporal in flight at once while a drift check reads runs: quick, yet gentle on visibility. */
const CLOSED_RUN_CONCURRENCY = 8;

/**
 * The closed runs of a workflow type (closed since `since` when given, newest first, bounded), each with its
 * result. A run a replay has since replaced is left out: its record now belongs to the newer run.
 */
export async function closedLatestRuns(client: Client, filter: { type: string; since?: string }, max = 1000): Promise<ClosedRun[]> {
  const clauses = [`WorkflowType = ${quoted(filter.type)}`, 'ExecutionStatus != "Running"'];
  if (filter.since) clauses.push(`CloseTime >= ${quoted(new Date(filter.since).toISOString())}`);
  const found: ClosedRun[] = [];
  for await (const info of client.workflow.list({ query: clauses.join(' AND '), pageSize: 100 })) {
    const { workflowId, runId, type } = info;
    found.push({ workflowId, runId, type, status: statusName(info.status.name), closedAt: info.closeTime?.toISOString() ?? null, result: null });
    if (found.length >= max) break;
  }
  const outcomes = await eachBounded(found, CLOSED_RUN_CONCURRENCY, async (run) => {
    const latest = await withDeadline(client, () => client.workflow.getHandle(run.workflowId).describe());
    if (latest.runId !== run.runId) return null;
    if (run.status !== 'Completed') return run;
    const result: unknown = await withDeadline(client, () => client.workflow.getHandle(run.workflowId, run.runId, { followRuns: false }).result());
    return { ...run, result };
  });
  const failed = outcomes.find((o) => o.error);
  if (failed?.error) throw failed.error;
  return outcomes.flatMap((o) => (o.value ? [o.value] : [])).sort((a, b) => (b.closedAt ?? '').localeCompare(a.closedAt ?? ''));
}

/** Ends a running run at once; the workflow runs no clean-up (the break-glass). */
export function terminateRun(client: Client, workflowId: string, runId: string, reason: string): Promise<void> {
  return withDeadline(client, async () => {
    await client.workflow.getHandle(workflowId, runId).terminate(reason);
  });
}
