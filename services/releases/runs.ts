// Release runs as the API serves them: creating the run of a version in an environment,
// showing runs and the dashboard, and letting updates reach only open runs.
// Readiness itself is decided by the workflow (readinessOf in its contract).
import { randomUUID } from 'node:crypto';
import { ReleaseGateEvaluation, ReleaseRun } from '../../db/models/ReleaseRun';
import type { Db } from '../../lib/db';
import { conflict, notFound, unprocessable } from '../../lib/errors';
import { decodeCursor, page } from '../../lib/pagination';
import type { Run } from '../../schemas/common';
import {
  OPEN_RELEASE_STATUSES,
  RELEASE_STATUSES,
  type ChecklistGate,
  type CreateReleaseBody,
  type GateEvaluationRequest,
  type ReevaluateRequest,
  type ReleaseStatus,
  type ReleaseView,
} from '../../schemas/releases';
import { releaseEvaluationWorkflowId } from '../../workflows/releaseEvaluation.contract';
import { audited, type AuditContext } from '../audit';

/** The readiness workflows of release runs, as the caller reaches them (the API: its typed Temporal client). */
export interface ReleaseWorkflows {
  /** Starts the run's workflow, or answers the one it has. */
  start(release: ReleaseRun): Promise<Run>;
  evaluateGate(publicId: string, request: GateEvaluationRequest): Promise<unknown>;
  reevaluate(publicId: string, request: ReevaluateRequest): Promise<unknown>;
}

const DASHBOARD_UPCOMING = 20;

/** Release views of `runs` with every gate's evaluations, oldest first, in one query. */
export async function releaseViews(db: Db, runs: ReleaseRun[]): Promise<ReleaseView[]> {
  if (runs.length === 0) return [];
  const evaluations = await evaluationsOf(db, runs.map((r) => r.publicId));
  return runs.map((run) => run.toView(evaluations.filter((e) => e.releaseRunId === run.publicId)));
}

const evaluationsOf = (db: Db, publicIds: string[]) => ReleaseGateEvaluation.query(db).whereIn('releaseRunId', publicIds).orderBy('seq', 'asc');

async function findRelease(db: Db, publicId: string): Promise<ReleaseRun> {
  const run = await ReleaseRun.query(db).findById(publicId);
  if (!run) throw notFound('release run');
  return run;
}

/** One run and its evaluations, read side by side (two separate statements, as before, one round trip of waiting). */
export async function releaseView(db: Db, publicId: string): Promise<ReleaseView> {
  const [run, evaluations] = await Promise.all([findRelease(db, publicId), evaluationsOf(db, [publicId])]);
  return run.toView(evaluations);
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

/**
 * Creates the run of a version in an environment (the business key), or finds the
 * one that exists: a repeated request never creates a second run.
 */
export async function createOrFindRelease(db: Db, body: CreateReleaseBody, checklist: ChecklistGate[], createdBy: string): Promise<ReleaseRun> {
  const publicId = randomUUID();
  await db('release_runs')
    .insert({
      publicId,
      version: body.version,
      environment: body.environment,
      changeWindowStart: new Date(body.changeWindowStart),
      changeWindowEnd: new Date(body.changeWindowEnd),
      owners: JSON.stringify(body.owners ?? []),
      gates: JSON.stringify(checklist.map((gate) => ({ ...gate, status: 'pending' }))),
      initialMetrics: body.metrics ? JSON.stringify(body.metrics) : null,
      workflowId: releaseEvaluationWorkflowId(publicId),
      createdBy,
    })
    .onConflict(['environment', 'version'])
    .ignore();
  return ReleaseRun.query(db).findOne({ environment: body.environment, version: body.version }).throwIfNotFound();
}

/** The run of a version in an environment and its workflow; the same request answers the existing run, even once its window started. */
export async function requestRelease(db: Db, workflows: ReleaseWorkflows, body: CreateReleaseBody, checklist: ChecklistGate[], createdBy: string) {
  const existing = await ReleaseRun.query(db).findOne({ environment: body.environment, version: body.version });
  if (!existing) checkWindow(body);
  const release = existing ?? (await createOrFindRelease(db, body, checklist, createdBy));
  const run = await workflows.start(release);
  return { release: await releaseView(db, release.publicId), run };
}

/** Only an open run's workflow takes updates; a closed run is refused before its workflow is asked. */
async function requireOpenRelease(db: Db, publicId: string): Promise<void> {
  const run = await findRelease(db, publicId);
  if (!OPEN_RELEASE_STATUSES.includes(run.status)) throw conflict('RELEASE_CLOSED', `the release run is ${run.status}`);
}

/**
 * Records a gate evaluation through the run's workflow (a waiver between a pending
 * `release_gate.waive` audit row and its outcome); answers the run as it then is.
 */
export async function evaluateGate(
  db: Db,
  workflows: ReleaseWorkflows,
  publicId: string,
  request: GateEvaluationRequest & { reason?: string },
  by: AuditContext,
): Promise<ReleaseView> {
  await requireOpenRelease(db, publicId);
  const { reason, ...evaluation } = request;
  const send = () => workflows.evaluateGate(publicId, evaluation);
  if (evaluation.status === 'waived') {
    const entry = { ...by, action: 'release_gate.waive', target: `release_gate:${publicId}:${evaluation.gateKey}`, reason: reason ?? evaluation.notes };
    await audited(db, entry, send);
  } else {
    await send();
  }
  return releaseView(db, publicId);
}

/** Recomputes readiness through the run's workflow; answers the run as it then is. */
export async function reevaluate(db: Db, workflows: ReleaseWorkflows, publicId: string, request: ReevaluateRequest): Promise<ReleaseView> {
  await requireOpenRelease(db, publicId);
  await workflows.reevaluate(publicId, request);
  return releaseView(db, publicId);
}

export interface ReleaseFilter {
  status?: string;
  environment?: string;
  limit?: number;
  cursor?: string;
}

/** Newest first. */
export async function listReleases(db: Db, filter: ReleaseFilter) {
  const limit = filter.limit ?? 50;
  const after = decodeCursor(filter.cursor, ['createdAt', 'publicId']);
  const q = ReleaseRun.query(db).orderBy([
    { column: 'createdAt', order: 'desc' },
    { column: 'publicId', order: 'desc' },
  ]);
  if (filter.status) q.where('status', filter.status);
  if (filter.environment) q.where('environment', filter.environment);
  if (after) q.whereRaw('(created_at, public_id) < (?, ?)', [after.createdAt, after.publicId]);
  const { items, nextCursor } = page(await q.limit(limit + 1), limit, (r) => ({
    createdAt: r.createdAt.toISOString(),
    publicId: r.publicId,
  }));
  return { items: await releaseViews(db, items), nextCursor };
}

/** How many runs are in each status, every status listed. */
export async function countReleasesByStatus(db: Db): Promise<Record<ReleaseStatus, number>> {
  const rows = (await db('release_runs').select('status').count('* as n').groupBy('status')) as Array<{ status: string; n: string }>;
  return Object.fromEntries(RELEASE_STATUSES.map((s) => [s, Number(rows.find((r) => r.status === s)?.n ?? 0)])) as Record<ReleaseStatus, number>;
}

export async function openReadinessScores(db: Db): Promise<Array<{ environment: string; version: string; readinessScore: number }>> {
  return db('release_runs').select('environment', 'version', 'readiness_score').whereIn('status', OPEN_RELEASE_STATUSES);
}

export async function countEvaluationsByGateAndStatus(db: Db): Promise<Array<{ gateKey: string; status: string; n: number }>> {
  const rows = (await db('release_gate_evaluations').select('gate_key', 'status').count('* as n').groupBy('gate_key', 'status')) as Array<{
    gateKey: string;
    status: string;
    n: string;
  }>;
  return rows.map((r) => ({ ...r, n: Number(r.n) }));
}

/** Upcoming open runs, counts by status and the mean readiness of open runs. */
export async function releaseDashboard(db: Db) {
  const upcoming = await ReleaseRun.query(db)
    .whereIn('status', OPEN_RELEASE_STATUSES)
    .where('changeWindowStart', '>', new Date())
    .orderBy([{ column: 'changeWindowStart' }, { column: 'publicId' }])
    .limit(DASHBOARD_UPCOMING);
  const [{ mean }] = (await db('release_runs').whereIn('status', OPEN_RELEASE_STATUSES).avg('readiness_score as mean')) as Array<{
    mean: string | null;
  }>;
  return {
    upcoming: upcoming.map((r) => {
      const { publicId, version, environment, status, readinessScore, changeWindowStart, changeWindowEnd, blockingGates, warnings } = r.toView([]);
      return { publicId, version, environment, status, readinessScore, changeWindowStart, changeWindowEnd, blockingGates, warnings };
    }),
    countsByStatus: await countReleasesByStatus(db),
    meanReadinessScore: mean === null ? null : Math.round(Number(mean) * 10) / 10,
  };
}
