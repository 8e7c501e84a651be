// Replaying and canceling runs: only closed, unsuccessful runs are replayed, each replay
// recorded in run_replays with who asked, why, and the run that replaced it; only a
// running run is canceled or terminated. Each of these Temporal calls is in the audit trail.
// Temporal is reached through the caller's RunControl.
import { randomUUID } from 'node:crypto';
import { RunReplay } from '../db/models/RunReplay';
import { eachBounded } from '../lib/bounded';
import type { Db } from '../lib/db';
import { conflict, forbidden } from '../lib/errors';
import type { Run } from '../schemas/common';
import type { ReplayMode, RunItem } from '../schemas/runs';
import { audited, type AuditContext } from './audit';

type RunRef = Pick<RunItem, 'workflowId' | 'runId' | 'type' | 'status'>;

/** The runs of a cluster, as the caller reaches them (the API: its typed runs client). */
export interface RunControl {
  /** Every run matching the filter (bounded). */
  matching(filter: { type: string; status: string; since: string }): Promise<RunItem[]>;
  /** One run of a workflow ID (its latest without `runId`). */
  describe(workflowId: string, runId?: string): Promise<Run>;
  /** The latest run of a workflow ID (404 when there is none). */
  latest(workflowId: string): Promise<RunItem>;
  /** Re-runs a closed run from its first workflow task; answers the new run ID. */
  reset(workflowId: string, runId: string, reason: string): Promise<string>;
  /** Starts a fresh run with the original input; answers the new run ID. */
  restart(workflowId: string, runId: string): Promise<string>;
  cancel(workflowId: string, runId: string): Promise<void>;
  terminate(workflowId: string, runId: string, reason: string): Promise<void>;
}

export interface ReplayRequest {
  mode: ReplayMode;
  reason: string;
  by: AuditContext;
}

/** Beyond the run roles, acting on these runs needs a role of their domain (SPEC §3.1). */
const DOMAIN_ROLES: Record<string, readonly string[]> = {
  paymentCapture: ['finance', 'admin'],
  refund: ['finance', 'admin'],
  retentionRun: ['admin'],
};

/** Refuses (403) an actor without a role of the domain of runs of `workflowType`. */
export function requireDomainRole(actor: AuditContext['actor'], workflowType: string): void {
  const needed = DOMAIN_ROLES[workflowType];
  if (needed && !actor.roles.some((r) => needed.includes(r))) {
    throw forbidden('DOMAIN_ROLE_REQUIRED', `${workflowType} runs need one of the roles: ${needed.join(', ')}`);
  }
}

const runTarget = (workflowId: string) => `run:${workflowId}`;

/** Replays in flight at once during a bulk replay: enough to be quick, few enough to spare the cluster. */
const BULK_CONCURRENCY = 4;

/** Replays one closed, unsuccessful run and records who did it, why, and what replaced it. */
async function replay(db: Db, runs: RunControl, run: RunRef, request: ReplayRequest, bulkId: string | null): Promise<Run> {
  const { mode, reason, by } = request;
  const requestedBy = by.actor.sub;
  requireDomainRole(by.actor, run.type);
  if (run.status === 'Running') throw conflict('RUN_NOT_CLOSED', 'the run is still running; cancel it first');
  if (run.status === 'Completed') throw conflict('RUN_COMPLETED', 'a completed run is not replayed');
  if (run.status === 'Canceled') throw conflict('RUN_CANCELED', 'a canceled run is not replayed; start a new one');
  const entry = {
    ...by,
    action: 'run.replay',
    target: runTarget(run.workflowId),
    reason,
    before: { runId: run.runId, status: run.status },
    after: { mode, bulkId },
  };
  const newRunId = await audited(db, entry, () =>
    mode === 'reset' ? runs.reset(run.workflowId, run.runId, `${reason} (by ${requestedBy})`) : runs.restart(run.workflowId, run.runId),
  );
  await RunReplay.query(db).insert({
    workflowId: run.workflowId,
    workflowType: run.type,
    oldRunId: run.runId,
    newRunId,
    mode,
    reason,
    requestedBy,
    bulkId,
  });
  return runs.describe(run.workflowId, newRunId);
}

/** Replays the latest run of a workflow ID. */
export async function replayLatestRun(db: Db, runs: RunControl, workflowId: string, request: ReplayRequest): Promise<Run> {
  return replay(db, runs, await runs.latest(workflowId), request, null);
}

export interface BulkReplayRequest extends ReplayRequest {
  type: string;
  status: string;
  since: string;
  dryRun?: boolean;
}

/** Replays every matching run that is still its workflow's latest (a dry run only counts them). */
export async function bulkReplay(db: Db, runs: RunControl, request: BulkReplayRequest) {
  requireDomainRole(request.by.actor, request.type);
  const matched = await runs.matching({ type: request.type, status: request.status, since: request.since });
  // Visibility keeps a replayed run's old, failed record: replay only runs that are still their workflow's latest.
  const latest = await eachBounded(matched, BULK_CONCURRENCY, (run) => runs.describe(run.workflowId));
  const pending = latest.filter((o) => o.value?.runId === o.item.runId).map((o) => o.item);
  if (request.dryRun) return { matched: pending.length, replayed: [], failed: [] };
  const bulkId = randomUUID();
  const outcomes = await eachBounded(pending, BULK_CONCURRENCY, (run) => replay(db, runs, run, request, bulkId));
  return {
    matched: pending.length,
    replayed: outcomes.flatMap((o) => (o.value ? [o.value] : [])),
    failed: outcomes.flatMap((o) => (o.error ? [{ workflowId: o.item.workflowId, runId: o.item.runId, error: o.error.message }] : [])),
  };
}

export interface StopRequest {
  reason: string | null;
  by: AuditContext;
}

/** The latest run of a workflow ID, which must be running and which the actor may act on. */
async function runningRun(runs: RunControl, workflowId: string, by: AuditContext): Promise<RunRef> {
  const run = await runs.latest(workflowId);
  requireDomainRole(by.actor, run.type);
  if (run.status !== 'Running') throw conflict('RUN_NOT_RUNNING', `the run is ${run.status}`);
  const { runId, type, status } = run;
  return { workflowId: run.workflowId, runId, type, status };
}

/** Asks the latest run of a workflow ID to cancel (the workflow runs its own clean-up); answers that run. */
export async function cancelLatestRun(db: Db, runs: RunControl, workflowId: string, request: StopRequest): Promise<RunRef> {
  const run = await runningRun(runs, workflowId, request.by);
  const entry = { ...request.by, action: 'run.cancel', target: runTarget(workflowId), reason: request.reason, before: { runId: run.runId, status: run.status } };
  await audited(db, entry, () => runs.cancel(run.workflowId, run.runId));
  return run;
}

/** The break-glass: ends the latest run at once, with no clean-up by the workflow; answers that run. */
export async function terminateLatestRun(db: Db, runs: RunControl, workflowId: string, request: StopRequest): Promise<RunRef> {
  const run = await runningRun(runs, workflowId, request.by);
  const entry = { ...request.by, action: 'run.terminate', target: runTarget(workflowId), reason: request.reason, before: { runId: run.runId, status: run.status } };
  const why = `${request.reason ?? 'terminated'} (by ${request.by.actor.sub})`;
  await audited(db, entry, () => runs.terminate(run.workflowId, run.runId, why));
  return run;
}
