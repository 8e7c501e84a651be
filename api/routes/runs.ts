import { allRuns, cancelRun, closedLatestRuns, describeRunOf, latestRunDetail, listRuns, resetRun, restartRun, terminateRun } from '../../lib/clients/runs';
import { runUiUrl } from '../../lib/temporal';
import type { AuditContext } from '../../services/audit';
import { findDrift } from '../../services/drift';
import { bulkReplay, cancelLatestRun, replayLatestRun, terminateLatestRun, type RunControl } from '../../services/runs';
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
  TerminateBody,
  RunList,
  WorkflowIdParams,
} from '../../schemas/runs';
import type { AppDeps } from '../deps';
import type { Principal } from '../middleware/auth';
import { defineRoute, type HandlerInput } from '../route';

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
    terminate: (workflowId, runId, reason) => terminateRun(temporal, workflowId, runId, reason),
  };
}

const auditContext = (principal: Principal, requestId: string): AuditContext => ({ actor: principal, requestId });

const runResponse = (deps: AppDeps, run: { workflowId: string; runId: string; type: string; status: string }) => ({
  run: { ...run, uiUrl: runUiUrl(deps.config, run.workflowId, run.runId) },
});

/** Cancel and terminate alike: the latest run of the workflow ID is stopped (audited by `stop`) and answered. */
function stopHandler(stop: typeof cancelLatestRun, logMessage: string) {
  return async ({ params, deps, principal, requestId, body }: HandlerInput<{ workflowId: string }, unknown, { reason?: string }>) => {
    const request = { reason: body.reason ?? null, by: auditContext(principal, requestId) };
    const run = await stop(deps.db, runControl(deps), params.workflowId, request);
    deps.logger.info(logMessage, { workflowId: run.workflowId, runId: run.runId, by: principal.sub, reason: body.reason });
    return { status: 202, body: runResponse(deps, run) };
  };
}

const DOMAIN_ROLE_NOTE = 'payment and refund runs also need finance or admin; retention runs need admin';

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
    responses: {
      202: { description: 'what matched and how each replay went (each replay audited as run.replay)', schema: BulkReplayResponse },
      403: { description: DOMAIN_ROLE_NOTE },
    },
    handler: async ({ body, principal, requestId, deps }) => ({
      status: 202,
      body: await bulkReplay(deps.db, runControl(deps), { ...body, by: auditContext(principal, requestId) }),
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
      202: { description: 'the new run (audited as run.replay)', schema: ReplayResponse },
      403: { description: DOMAIN_ROLE_NOTE },
      404: { description: 'unknown workflow ID' },
      409: { description: 'RUN_COMPLETED, RUN_CANCELED or RUN_NOT_CLOSED' },
    },
    handler: async ({ params, body, principal, requestId, deps }) => {
      const request = { mode: body.mode, reason: body.reason, by: auditContext(principal, requestId) };
      return { status: 202, body: { run: await replayLatestRun(deps.db, runControl(deps), params.workflowId, request) } };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/runs/:workflowId/cancel',
    summary: 'Request cancellation of a running workflow: it runs its own clean-up and ends Canceled (audited as run.cancel)',
    tag: 'runs',
    access: RUN_ROLES,
    rateGroup: 'runs',
    params: WorkflowIdParams,
    body: CancelBody,
    responses: {
      202: { description: 'cancellation requested', schema: ReplayResponse },
      403: { description: DOMAIN_ROLE_NOTE },
      404: { description: 'unknown workflow ID' },
      409: { description: 'RUN_NOT_RUNNING' },
    },
    handler: stopHandler(cancelLatestRun, 'run cancel requested'),
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/runs/:workflowId/terminate',
    summary: 'The break-glass: end a running workflow at once, with no clean-up by the workflow (audited as run.terminate)',
    tag: 'runs',
    access: ['admin'],
    rateGroup: 'runs',
    params: WorkflowIdParams,
    body: TerminateBody,
    responses: {
      202: { description: 'the run, terminated', schema: ReplayResponse },
      404: { description: 'unknown workflow ID' },
      409: { description: 'RUN_NOT_RUNNING' },
    },
    handler: stopHandler(terminateLatestRun, 'run terminated'),
  }),
];
