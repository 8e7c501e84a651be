import { randomUUID } from 'node:crypto';
import { RunReplay } from '../../db/models/RunReplay';
import { eachBounded } from '../../lib/bounded';
import { allRuns, cancelRun, describeRunOf, latestRunDetail, listRuns, resetRun, restartRun } from '../../lib/clients/runs';
import { conflict } from '../../lib/errors';
import { runUiUrl } from '../../lib/temporal';
import type { Run } from '../../schemas/common';
import {
  BulkReplayBody,
  BulkReplayResponse,
  CancelBody,
  ListRunsQuery,
  ReplayBody,
  ReplayResponse,
  RunDetail,
  RunList,
  WorkflowIdParams,
  type ReplayMode,
  type RunItem,
} from '../../schemas/runs';
import type { AppDeps } from '../deps';
import { defineRoute } from '../route';

const RUN_ROLES = ['operator', 'support', 'admin'] as const;
/** Replays in flight at once during a bulk replay: enough to be quick, few enough to spare the cluster. */
const BULK_CONCURRENCY = 4;

const latestRun = (deps: AppDeps, workflowId: string) => latestRunDetail(deps.temporal, deps.config, workflowId);

interface ReplayRequest {
  run: Pick<RunItem, 'workflowId' | 'runId' | 'type' | 'status'>;
  mode: ReplayMode;
  reason: string;
  requestedBy: string;
  bulkId: string | null;
}

/** Replays one closed, unsuccessful run and records who did it, why, and what replaced it. */
async function replay(deps: AppDeps, request: ReplayRequest): Promise<Run> {
  const { run, mode, reason } = request;
  if (run.status === 'Running') throw conflict('RUN_NOT_CLOSED', 'the run is still running; cancel it first');
  if (run.status === 'Completed') throw conflict('RUN_COMPLETED', 'a completed run is not replayed');
  const newRunId =
    mode === 'reset'
      ? await resetRun(deps.temporal, run.workflowId, run.runId, `${reason} (by ${request.requestedBy})`)
      : await restartRun(deps.temporal, run.workflowId, run.runId);
  await RunReplay.query(deps.db).insert({
    workflowId: run.workflowId,
    workflowType: run.type,
    oldRunId: run.runId,
    newRunId,
    mode,
    reason,
    requestedBy: request.requestedBy,
    bulkId: request.bulkId,
  });
  return describeRunOf(deps.temporal, deps.config, run.workflowId, newRunId);
}

export const runRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/v1/runs',
    summary: 'Runs from Temporal visibility, newest first (filter by type, status, business key, start time)',
    tag: 'runs',
    access: RUN_ROLES,
    rateGroup: 'runs',
    query: ListRunsQuery,
    responses: { 200: { description: 'a page of runs', schema: RunList } },
    handler: async ({ query, deps }) => ({
      status: 200,
      body: await listRuns(deps.temporal, deps.config, query, query.limit ?? 50, query.cursor),
    }),
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/runs/replay',
    summary: 'Replay every closed run of a type and status since a time (dryRun counts them)',
    tag: 'runs',
    access: RUN_ROLES,
    rateGroup: 'runs',
    body: BulkReplayBody,
    responses: { 202: { description: 'what matched and how each replay went', schema: BulkReplayResponse } },
    handler: async ({ body, principal, deps }) => {
      const matched = await allRuns(deps.temporal, deps.config, { type: body.type, status: body.status, since: body.since });
      // Visibility keeps a replayed run's old, failed record: replay only runs that are still their workflow's latest.
      const latest = await eachBounded(matched, BULK_CONCURRENCY, (run) => describeRunOf(deps.temporal, deps.config, run.workflowId));
      const pending = latest.filter((o) => o.value?.runId === o.item.runId).map((o) => o.item);
      if (body.dryRun) return { status: 202, body: { matched: pending.length, replayed: [], failed: [] } };
      const bulkId = randomUUID();
      const outcomes = await eachBounded(pending, BULK_CONCURRENCY, (run) =>
        replay(deps, { run, mode: body.mode, reason: body.reason, requestedBy: principal.sub, bulkId }),
      );
      return {
        status: 202,
        body: {
          matched: pending.length,
          replayed: outcomes.flatMap((o) => (o.value ? [o.value] : [])),
          failed: outcomes.flatMap((o) => (o.error ? [{ workflowId: o.item.workflowId, runId: o.item.runId, error: o.error.message }] : [])),
        },
      };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/runs/:workflowId',
    summary: 'The latest run of a workflow ID (URL-encoded): failure, pending activities, history length',
    tag: 'runs',
    access: RUN_ROLES,
    rateGroup: 'runs',
    params: WorkflowIdParams,
    responses: { 200: { description: 'the run', schema: RunDetail }, 404: { description: 'unknown workflow ID' } },
    handler: async ({ params, deps }) => ({ status: 200, body: { run: await latestRun(deps, params.workflowId) } }),
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/runs/:workflowId/replay',
    summary: 'Replay a closed, unsuccessful run: reset to its first workflow task, or restart with its input',
    tag: 'runs',
    access: RUN_ROLES,
    rateGroup: 'runs',
    params: WorkflowIdParams,
    body: ReplayBody,
    responses: {
      202: { description: 'the new run', schema: ReplayResponse },
      404: { description: 'unknown workflow ID' },
      409: { description: 'RUN_COMPLETED or RUN_NOT_CLOSED' },
    },
    handler: async ({ params, body, principal, deps }) => {
      const run = await latestRun(deps, params.workflowId);
      const replayed = await replay(deps, { run, mode: body.mode, reason: body.reason, requestedBy: principal.sub, bulkId: null });
      return { status: 202, body: { run: replayed } };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/runs/:workflowId/cancel',
    summary: 'Request cancellation of a running workflow',
    tag: 'runs',
    access: RUN_ROLES,
    rateGroup: 'runs',
    params: WorkflowIdParams,
    body: CancelBody,
    responses: {
      202: { description: 'cancellation requested', schema: ReplayResponse },
      404: { description: 'unknown workflow ID' },
      409: { description: 'RUN_NOT_RUNNING' },
    },
    handler: async ({ params, deps, principal, body }) => {
      const run = await latestRun(deps, params.workflowId);
      if (run.status !== 'Running') throw conflict('RUN_NOT_RUNNING', `the run is ${run.status}`);
      await cancelRun(deps.temporal, run.workflowId, run.runId);
      deps.logger.info('run cancel requested', { workflowId: run.workflowId, runId: run.runId, by: principal.sub, reason: body.reason });
      const { workflowId, runId, type, status } = run;
      return { status: 202, body: { run: { workflowId, runId, type, status, uiUrl: runUiUrl(deps.config, workflowId, runId) } } };
    },
  }),
];
