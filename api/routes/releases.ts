import { evaluateGate, listReleases, reevaluate, releaseDashboard, releaseView, requestRelease, type ReleaseWorkflows } from '../../services/releases';
import { releaseChecklist } from '../../lib/releaseChecklist';
import { evaluateReleaseGate, reevaluateRelease, startReleaseEvaluation } from '../../lib/clients/releases';
import {
  ChecklistResponse,
  CreateReleaseBody,
  CreateReleaseResponse,
  DashboardResponse,
  EvaluateBody,
  GateEvaluationBody,
  GateParams,
  ListReleasesQuery,
  PublicIdParams,
  ReleaseList,
  ReleaseResponse,
} from '../../schemas/releases';
import { RELEASE_EVALUATION_WORKFLOW } from '../../workflows/releaseEvaluation.contract';
import type { AppDeps } from '../deps';
import { defineRoute } from '../route';

const READERS = ['operator', 'support', 'admin'] as const;
const MANAGERS = ['operator', 'admin'] as const;

/** Release workflows through the typed client. */
function releaseWorkflows({ temporal, config, metrics }: AppDeps): ReleaseWorkflows {
  return {
    start(release) {
      metrics.workflowStarts.inc({ type: RELEASE_EVALUATION_WORKFLOW });
      const summary = `Release ${release.version} to ${release.environment}, window ${release.changeWindowStart.toISOString()}`;
      return startReleaseEvaluation(temporal, config, release.workflowInput(), summary);
    },
    evaluateGate: (publicId, request) => evaluateReleaseGate(temporal, publicId, request),
    reevaluate: (publicId, request) => reevaluateRelease(temporal, publicId, request),
  };
}

export const releaseRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/v1/releases/checklist',
    summary: 'The release gates with their criteria, thresholds, required flags and default owners',
    tag: 'releases',
    access: READERS,
    rateGroup: 'releases',
    responses: { 200: { description: 'the checklist new runs snapshot', schema: ChecklistResponse } },
    handler: async ({ deps }) => {
      const { config } = deps;
      const changeFreeze = {
        cron: config.RELEASE_CHANGE_FREEZE_CRON,
        timezone: config.RELEASE_CHANGE_FREEZE_TIMEZONE,
        durationMinutes: config.RELEASE_CHANGE_FREEZE_DURATION_MINUTES,
      };
      return { status: 200, body: { gates: releaseChecklist(config), changeFreeze } };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/releases/runs',
    summary: 'Start the readiness run of a version in an environment (idempotent: one run per version and environment)',
    tag: 'releases',
    access: MANAGERS,
    rateGroup: 'releases',
    body: CreateReleaseBody,
    responses: {
      202: { description: 'the release run and its workflow run', schema: CreateReleaseResponse },
      422: { description: 'CHANGE_WINDOW_INVALID (end not after start), CHANGE_WINDOW_STARTED' },
    },
    handler: async ({ body, principal, deps }) => ({
      status: 202,
      body: await requestRelease(deps.db, releaseWorkflows(deps), body, releaseChecklist(deps.config), principal.sub),
    }),
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/releases/runs',
    summary: 'List release runs, newest first',
    tag: 'releases',
    access: READERS,
    rateGroup: 'releases',
    query: ListReleasesQuery,
    responses: { 200: { description: 'a page of release runs', schema: ReleaseList } },
    handler: async ({ query, deps }) => ({ status: 200, body: await listReleases(deps.db, query) }),
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/releases/runs/:publicId',
    summary: 'A release run with its gates, their evaluations and its warnings',
    tag: 'releases',
    access: READERS,
    rateGroup: 'releases',
    params: PublicIdParams,
    responses: { 200: { description: 'the release run', schema: ReleaseResponse }, 404: { description: 'unknown release run' } },
    handler: async ({ params, deps }) => ({ status: 200, body: { release: await releaseView(deps.db, params.publicId) } }),
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/releases/runs/:publicId/gates/:gateKey/evaluations',
    summary: 'Evaluate a gate of an open run (a workflow update: validated, recorded, readiness recomputed; a waiver is audited as release_gate.waive)',
    tag: 'releases',
    access: MANAGERS,
    rateGroup: 'releases',
    params: GateParams,
    body: GateEvaluationBody,
    responses: {
      200: { description: 'the release run after the evaluation', schema: ReleaseResponse },
      404: { description: 'unknown release run; UNKNOWN_GATE' },
      409: { description: 'RELEASE_CLOSED' },
      422: { description: 'METRICS_CONTRADICT_STATUS: a pass whose metrics miss a threshold' },
      503: { description: 'RELEASE_NOT_RECORDED: the workflow did not record it in time' },
    },
    handler: async ({ params, body, principal, requestId, deps }) => {
      const request = { ...body, gateKey: params.gateKey, actor: principal.sub };
      const by = { actor: principal, requestId };
      return { status: 200, body: { release: await evaluateGate(deps.db, releaseWorkflows(deps), params.publicId, request, by) } };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/releases/runs/:publicId/evaluate',
    summary: 'Recompute readiness of an open run; fresh metrics re-evaluate the auto gates',
    tag: 'releases',
    access: MANAGERS,
    rateGroup: 'releases',
    params: PublicIdParams,
    body: EvaluateBody,
    responses: {
      200: { description: 'the release run after the evaluation', schema: ReleaseResponse },
      404: { description: 'unknown release run' },
      409: { description: 'RELEASE_CLOSED' },
      422: { description: 'METRICS_INCOMPLETE: the metrics complete no auto gate' },
      503: { description: 'RELEASE_NOT_RECORDED: the workflow did not record it in time' },
    },
    handler: async ({ params, body, principal, deps }) => {
      const request = { ...body, actor: principal.sub };
      return { status: 200, body: { release: await reevaluate(deps.db, releaseWorkflows(deps), params.publicId, request) } };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/releases/dashboard',
    summary: 'Upcoming open runs, counts by status and the mean readiness of open runs',
    tag: 'releases',
    access: READERS,
    rateGroup: 'releases',
    responses: { 200: { description: 'the release dashboard', schema: DashboardResponse } },
    handler: async ({ deps }) => ({ status: 200, body: await releaseDashboard(deps.db) }),
  }),
];
