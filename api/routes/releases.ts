import { ReleaseRun, releaseViews } from '../../db/models/ReleaseRun';
import { conflict, notFound, unprocessable } from '../../lib/errors';
import { decodeCursor, page } from '../../lib/pagination';
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
  OPEN_RELEASE_STATUSES,
  PublicIdParams,
  RELEASE_STATUSES,
  ReleaseList,
  ReleaseResponse,
  type ReleaseView,
} from '../../schemas/releases';
import { RELEASE_EVALUATION_WORKFLOW } from '../../workflows/releaseEvaluation.contract';
import type { AppDeps } from '../deps';
import { defineRoute } from '../route';

const READERS = ['operator', 'support', 'admin'] as const;
const MANAGERS = ['operator', 'admin'] as const;
const DASHBOARD_UPCOMING = 20;

async function releaseView(deps: AppDeps, publicId: string): Promise<ReleaseView> {
  const run = await ReleaseRun.query(deps.db).findById(publicId);
  if (!run) throw notFound('release run');
  return (await releaseViews(deps.db, [run]))[0];
}

/** Only an open run's workflow takes updates; a closed run is refused before its workflow is asked. */
async function requireOpenRelease(deps: AppDeps, publicId: string): Promise<void> {
  const run = await ReleaseRun.query(deps.db).findById(publicId);
  if (!run) throw notFound('release run');
  if (!OPEN_RELEASE_STATUSES.includes(run.status)) throw conflict('RELEASE_CLOSED', `the release run is ${run.status}`);
}

function checkWindow(body: CreateReleaseBody): void {
  const start = Date.parse(body.changeWindowStart);
  if (Date.parse(body.changeWindowEnd) <= start) {
    throw unprocessable('CHANGE_WINDOW_INVALID', 'changeWindowEnd must be after changeWindowStart', [
      { path: 'body/changeWindowEnd', message: 'must be after changeWindowStart' },
    ]);
  }
  if (start <= Date.now()) {
    throw unprocessable('CHANGE_WINDOW_STARTED', 'the change window has already started', [
      { path: 'body/changeWindowStart', message: 'must be in the future' },
    ]);
  }
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
    handler: async ({ body, principal, deps }) => {
      // The same version and environment answer the existing run, even once its window has started.
      const existing = await ReleaseRun.query(deps.db).findOne({ environment: body.environment, version: body.version });
      if (!existing) checkWindow(body);
      const release = existing ?? (await ReleaseRun.createOrFind(deps.db, body, releaseChecklist(deps.config), principal.sub));
      deps.metrics.workflowStarts.inc({ type: RELEASE_EVALUATION_WORKFLOW });
      const summary = `Release ${release.version} to ${release.environment}, window ${release.changeWindowStart.toISOString()}`;
      const run = await startReleaseEvaluation(deps.temporal, deps.config, release.workflowInput(), summary);
      return { status: 202, body: { release: await releaseView(deps, release.publicId), run } };
    },
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
    handler: async ({ query, deps }) => {
      const limit = query.limit ?? 50;
      const after = decodeCursor(query.cursor, ['createdAt', 'publicId']);
      const q = ReleaseRun.query(deps.db).orderBy([
        { column: 'createdAt', order: 'desc' },
        { column: 'publicId', order: 'desc' },
      ]);
      if (query.status) q.where('status', query.status);
      if (query.environment) q.where('environment', query.environment);
      if (after) q.whereRaw('(created_at, public_id) < (?, ?)', [after.createdAt, after.publicId]);
      const { items, nextCursor } = page(await q.limit(limit + 1), limit, (r) => ({
        createdAt: r.createdAt.toISOString(),
        publicId: r.publicId,
      }));
      return { status: 200, body: { items: await releaseViews(deps.db, items), nextCursor } };
    },
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
    handler: async ({ params, deps }) => ({ status: 200, body: { release: await releaseView(deps, params.publicId) } }),
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/releases/runs/:publicId/gates/:gateKey/evaluations',
    summary: 'Evaluate a gate of an open run (a workflow update: validated, recorded, readiness recomputed)',
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
    handler: async ({ params, body, principal, deps }) => {
      await requireOpenRelease(deps, params.publicId);
      await evaluateReleaseGate(deps.temporal, params.publicId, { ...body, gateKey: params.gateKey, actor: principal.sub });
      return { status: 200, body: { release: await releaseView(deps, params.publicId) } };
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
      await requireOpenRelease(deps, params.publicId);
      await reevaluateRelease(deps.temporal, params.publicId, { ...body, actor: principal.sub });
      return { status: 200, body: { release: await releaseView(deps, params.publicId) } };
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
    handler: async ({ deps }) => {
      const { db } = deps;
      const upcoming = await ReleaseRun.query(db)
        .whereIn('status', OPEN_RELEASE_STATUSES)
        .where('changeWindowStart', '>', new Date())
        .orderBy([{ column: 'changeWindowStart' }, { column: 'publicId' }])
        .limit(DASHBOARD_UPCOMING);
      const counts = (await db('release_runs').select('status').count('* as n').groupBy('status')) as Array<{ status: string; n: string }>;
      const countsByStatus = Object.fromEntries(RELEASE_STATUSES.map((s) => [s, Number(counts.find((c) => c.status === s)?.n ?? 0)]));
      const [{ mean }] = (await db('release_runs').whereIn('status', OPEN_RELEASE_STATUSES).avg('readiness_score as mean')) as Array<{
        mean: string | null;
      }>;
      return {
        status: 200,
        body: {
          upcoming: upcoming.map((r) => {
            const { publicId, version, environment, status, readinessScore, changeWindowStart, changeWindowEnd, blockingGates, warnings } =
              r.toView([]);
            return { publicId, version, environment, status, readinessScore, changeWindowStart, changeWindowEnd, blockingGates, warnings };
          }),
          countsByStatus,
          meanReadinessScore: mean === null ? null : Math.round(Number(mean) * 10) / 10,
        },
      };
    },
  }),
];
