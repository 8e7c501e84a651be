// Retention runs as the API shows them, their progress computed here once, and a run
// requested through the API: recorded before its workflow starts, so GET answers at once.
import { randomUUID } from 'node:crypto';
import { RetentionRun, type RetentionRunPolicy } from '../../db/models/Retention';
import type { Db } from '../../lib/db';
import { notFound } from '../../lib/errors';
import { decodeCursor, page } from '../../lib/pagination';
import type { Run } from '../../schemas/common';
import type { RetentionRunInput, RetentionRunStatus, RetentionRunView } from '../../schemas/retention';
import { audited, type AuditContext } from '../audit';
import { DEFAULT_PAGE_SIZE, type Page, type PageQuery } from '../page';
import { checkPoliciesExist } from './policies';
import { insertRetentionRun } from './runs';

/** How far a run is: settled policies over all, the pending one named; a closed run is at 100. */
export function retentionRunProgress(run: RetentionRun, policies: RetentionRunPolicy[]): RetentionRunView['progress'] {
  const settled = policies.filter((p) => p.status !== 'pending').length;
  if (run.status !== 'running') return { stage: run.status, percent: 100, detail: null };
  const current = policies.find((p) => p.status === 'pending');
  return {
    stage: current ? `policy ${current.entity}` : 'planning',
    percent: policies.length === 0 ? 0 : Math.floor((settled * 100) / policies.length),
    detail: current ? `${current.matched} matched, ${current.affected} changed` : null,
  };
}

function runView(run: RetentionRun): RetentionRunView {
  const policies = (run.policies ?? []).slice().sort((a, b) => a.position - b.position);
  return {
    id: run.id,
    status: run.status,
    dryRun: run.dryRun,
    trigger: run.trigger,
    asOf: run.asOf.toISOString(),
    workflowId: run.workflowId,
    policies: policies.map((p) => p.toView()),
    progress: retentionRunProgress(run, policies),
    createdAt: run.createdAt.toISOString(),
    completedAt: run.completedAt?.toISOString() ?? null,
  };
}

export async function getRetentionRun(db: Db, id: string): Promise<RetentionRunView> {
  const run = await RetentionRun.query(db).findById(id).withGraphFetched('policies');
  if (!run) throw notFound('retention run');
  return runView(run);
}

export async function listRetentionRuns(db: Db, query: PageQuery & { status?: RetentionRunStatus }): Promise<Page<RetentionRunView>> {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const after = decodeCursor(query.cursor, ['createdAt', 'id']);
  const q = RetentionRun.query(db)
    .withGraphFetched('policies')
    .orderBy([{ column: 'createdAt', order: 'desc' }, { column: 'id', order: 'desc' }]);
  if (query.status) q.where('status', query.status);
  if (after) q.whereRaw('(created_at, id) < (?, ?)', [after.createdAt, after.id]);
  const { items, nextCursor } = page(await q.limit(limit + 1), limit, (r) => ({ createdAt: r.createdAt.toISOString(), id: r.id }));
  return { items: items.map(runView), nextCursor };
}

export interface RetentionRunRequest {
  dryRun: boolean;
  policyIds?: string[];
  reason?: string;
  by: AuditContext;
}

/** How a requested run's workflow is named and started (the API's typed client; services know no Temporal). */
export interface RetentionRunStarter {
  workflowIdOf(retentionRunId: string): string;
  start(input: RetentionRunInput & { retentionRunId: string }, summary: string): Promise<Run>;
}

function summaryOf(request: RetentionRunRequest): string {
  return `${request.dryRun ? 'Dry run' : 'Retention run'} of ${request.policyIds ? `${request.policyIds.length} named` : 'all active'} policies`;
}

/**
 * Records the run and starts its workflow in one transaction (a start that fails leaves no
 * record); the workflow's first step inserts the record too, idempotently. The start sits
 * between a pending `retention_run.start` audit row and its outcome.
 */
export async function requestRetentionRun(
  db: Db,
  request: RetentionRunRequest,
  starter: RetentionRunStarter,
): Promise<{ retentionRun: RetentionRunView; run: Run }> {
  if (request.policyIds) await checkPoliciesExist(db, request.policyIds);
  const input = {
    retentionRunId: randomUUID(),
    dryRun: request.dryRun,
    policyIds: request.policyIds,
    asOf: new Date().toISOString(),
    trigger: 'api' as const,
    requestedBy: request.by.actor.sub,
  };
  const entry = {
    ...request.by,
    action: 'retention_run.start',
    target: `retention_run:${input.retentionRunId}`,
    reason: request.reason,
    after: { dryRun: input.dryRun, policyIds: input.policyIds ?? null },
  };
  const run = await audited(db, entry, () =>
    db.transaction(async (trx) => {
      await insertRetentionRun(trx, { ...input, workflowId: starter.workflowIdOf(input.retentionRunId) });
      return starter.start(input, summaryOf(request));
    }),
  );
  return { retentionRun: await getRetentionRun(db, input.retentionRunId), run };
}
