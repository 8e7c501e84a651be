import { allRuns, cancelRun, closedLatestRuns, describeRunOf, latestRunDetail, listRuns, resetRun, restartRun } from '../../lib/clients/runs';
import { runUiUrl } from '../../lib/temporal';
import { findDrift } from '../../services/drift';
import { bulkReplay, cancelLatestRun, replayLatestRun, type RunControl } from '../../services/runs';
import {
  BulkReplayBody,
  BulkReplayResponse,
  CancelBody,
  DriftList,
  DriftQuery,
  ListRunsQuery,
  ReplayBody,
  ReplayResponse,
  RunDetail,
  RunList,
  WorkflowIdParams,
} from '../../schemas/runs';
import type { AppDeps } from '../deps';
import { defineRoute } from '../route';

const RUN_ROLES = ['operator', 'support', 'admin'] as const;

const latestRun = (deps: AppDeps, workflowId: string) => latestRunDetail(deps.temporal, deps.config, workflowId);

/** Runs through the typed runs client. */
function runControl(deps: AppDeps): RunControl {
  const { temporal, config } = deps;
  return {
    matching: (filter) => allRuns(temporal, config, filter),
    describe: (workflowId, runId) => describeRunOf(temporal, config, workflowId, runId),
    latest: (workflowId) => latestRun(deps, workflowId),
    reset: (workflowId, runId, reason) => resetRun(temporal, workflowId, runId, reason),
    restart: (workflowId, runId) => restartRun(temporal, workflowId, runId),
    cancel: (workflowId, runId) => cancelRun(temporal, workflowId, runId),
  };
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
    handler: async ({ body, principal, deps }) => ({
      status: 202,
      body: await bulkReplay(deps.db, runControl(deps), { ...body, requestedBy: principal.sub }),
    }),
  }),

  // Before /runs/:workflowId, so `drift` is not taken for a workflow ID.
  defineRoute({
    method: 'get',
    path: '/api/v1/runs/drift',
    summary: 'Closed runs whose records disagree with them (beyond the changes each process allows after its run closed)',
    tag: 'runs',
    access: ['operator', 'admin'],
    rateGroup: 'runs',
    query: DriftQuery,
    responses: { 200: { description: 'every disagreement found', schema: DriftList } },
    handler: async ({ query, deps }) => {
      const runs = { closed: (filter: { type: string; since?: string }) => closedLatestRuns(deps.temporal, filter) };
      return { status: 200, body: { items: await findDrift(deps.db, runs, query), nextCursor: null } };
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
      const request = { mode: body.mode, reason: body.reason, requestedBy: principal.sub };
      return { status: 202, body: { run: await replayLatestRun(deps.db, runControl(deps), params.workflowId, request) } };
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
      const run = await cancelLatestRun(runControl(deps), params.workflowId);
      deps.logger.info('run cancel requested', { workflowId: run.workflowId, runId: run.runId, by: principal.sub, reason: body.reason });
      return { status: 202, body: { run: { ...run, uiUrl: runUiUrl(deps.config, run.workflowId, run.runId) } } };
    },
  }),
];
