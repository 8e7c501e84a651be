// A retention run's bookkeeping as its workflow moves it along: the plan, each policy's
// state, its completion (with the one audit row of a live run), failure streaks, the close.
import type { Knex } from 'knex';
import { RetentionAuditLog, RetentionPolicy, RetentionRun, RetentionRunPolicy } from '../../db/models/Retention';
import { ENTITY_DEFINITIONS } from '../../db/retentionEntities';
import type { Db } from '../../lib/db';
import type { RetentionRunStatus } from '../../schemas/retention';
import { PermanentFailure } from '../permanentFailure';
import { recordOutboxEvent, reportRunFailed, type FailedRun } from '../notifications/outbox';
import { getRetentionRun } from './runViews';

export interface OpenRetentionRunInput {
  retentionRunId: string;
  workflowId: string;
  dryRun: boolean;
  policyIds?: string[];
  asOf: string;
  trigger: 'api' | 'schedule';
  requestedBy?: string;
}

export interface PlannedPolicy {
  policyId: string;
  entity: string;
  status: RetentionRunPolicy['status'];
}

export interface PolicyRef {
  retentionRunId: string;
  policyId: string;
}

export interface PolicyCounts {
  done: boolean;
  matched: number;
  affected: number;
}

/** After this many consecutive failures a policy rests for `backoffMinutes`. */
export interface FailureBackoff {
  maxFailures: number;
  failureBackoffMinutes: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Inserts the run's record unless it exists (the API may have inserted it before starting the workflow). */
export async function insertRetentionRun(trx: Knex, input: OpenRetentionRunInput): Promise<void> {
  await RetentionRun.query(trx)
    .insert({
      id: input.retentionRunId,
      workflowId: input.workflowId,
      status: 'running',
      dryRun: input.dryRun,
      trigger: input.trigger,
      requestedBy: input.requestedBy ?? null,
      asOf: new Date(input.asOf),
    })
    .onConflict('id')
    .ignore();
}

/** A replayed failed run (reset or restart) takes up its failed policies again from their committed cursors. */
async function reopenFailedRun(trx: Knex, retentionRunId: string): Promise<void> {
  const reopened = await RetentionRun.query(trx).findById(retentionRunId).where('status', 'failed').patch({ status: 'running', closedStatus: null, completedAt: null });
  if (reopened > 0) {
    await RetentionRunPolicy.query(trx).where({ retentionRunId, status: 'failed' }).patch({ status: 'pending', error: null });
  }
}

/** One row per policy the run covers, each with its cut-off; a resting policy is planned as skipped. */
async function planPolicies(trx: Knex, input: OpenRetentionRunInput, asOf: Date): Promise<void> {
  const q = RetentionPolicy.query(trx).orderBy(['createdAt', 'id']);
  // Policies named explicitly run even when inactive; otherwise every active policy runs.
  if (input.policyIds) q.whereIn('id', input.policyIds);
  else q.where('active', true);
  const policies = await q;
  if (policies.length === 0) return;
  await RetentionRunPolicy.query(trx).insert(
    policies.map((p, position) => {
      const resting = p.restingUntil !== null && p.restingUntil > asOf;
      return {
        retentionRunId: input.retentionRunId,
        policyId: p.id,
        position,
        entity: p.entity,
        action: p.action,
        criteria: p.criteria,
        cutoffAt: new Date(asOf.getTime() - p.retentionDays * DAY_MS),
        status: resting ? ('skipped' as const) : ('pending' as const),
        error: resting
          ? `resting until ${p.restingUntil?.toISOString()} after ${p.consecutiveFailures} consecutive failures: ${p.lastError ?? ''}`
          : null,
        sampleIds: [],
      };
    }),
  );
}

/** Records the run and its plan once; a retry, a continued run or a replay finds the plan standing. */
export async function openRetentionRun(db: Db, input: OpenRetentionRunInput): Promise<PlannedPolicy[]> {
  await db.transaction(async (trx) => {
    await insertRetentionRun(trx, input);
    await reopenFailedRun(trx, input.retentionRunId);
    const planned = await RetentionRunPolicy.query(trx).where('retentionRunId', input.retentionRunId).resultSize();
    if (planned === 0) await planPolicies(trx, input, new Date(input.asOf));
  });
  const rows = await RetentionRunPolicy.query(db).where('retentionRunId', input.retentionRunId).orderBy('position');
  return rows.map((r) => ({ policyId: r.policyId, entity: r.entity, status: r.status }));
}

/** A policy's row in its run, locked, with the run's dryRun and the entity and action it names. */
export async function loadPolicyState(trx: Knex, ref: PolicyRef) {
  // One round trip: the policy's row, locked, with its run's dryRun beside it.
  const runDryRun = RetentionRun.query(trx).select('dryRun').whereColumn('retentionRuns.id', 'retentionRunPolicies.retentionRunId').as('dryRun');
  const state = (await RetentionRunPolicy.query(trx).select('retentionRunPolicies.*', runDryRun).findById([ref.retentionRunId, ref.policyId]).forUpdate()) as
    | (RetentionRunPolicy & { dryRun: boolean | null })
    | undefined;
  if (!state || state.dryRun === null) throw new PermanentFailure(`retention run ${ref.retentionRunId} has no policy ${ref.policyId}`, 'RetentionRunNotFound');
  const entity = ENTITY_DEFINITIONS[state.entity];
  const action = entity?.actions[state.action];
  if (!action) throw new PermanentFailure(`${state.entity} does not support ${state.action}`, 'InvalidRetentionPolicy');
  return { state, dryRun: state.dryRun, entity, action };
}

/** Marks the policy done for this run; a live run writes its one audit row. A success ends a failure streak. */
export async function finishRetentionPolicy(db: Db, ref: PolicyRef & { workflowId: string; runId: string }): Promise<PolicyCounts> {
  return db.transaction(async (trx) => {
    const { state, dryRun } = await loadPolicyState(trx, ref);
    if (state.status === 'pending') {
      await RetentionRunPolicy.query(trx).findById([ref.retentionRunId, ref.policyId]).patch({ status: 'completed' });
      if (!dryRun) {
        await RetentionAuditLog.query(trx)
          .insert({
            retentionRunId: ref.retentionRunId,
            policyId: ref.policyId,
            entity: state.entity,
            action: state.action,
            cutoffAt: state.cutoffAt,
            matched: state.matched,
            affected: state.affected,
            sampleIds: state.sampleIds,
            workflowId: ref.workflowId,
            runId: ref.runId,
          })
          .onConflict(['retention_run_id', 'policy_id'])
          .ignore();
      }
      await RetentionPolicy.query(trx)
        .findById(ref.policyId)
        .patch({ consecutiveFailures: 0, restingUntil: null, lastError: null, updatedAt: new Date() });
    }
    return { done: true, matched: Number(state.matched), affected: Number(state.affected) };
  });
}

/** Counts one failed run of the policy (once, however often this is retried); at the maximum it rests. */
export async function failRetentionPolicy(db: Db, backoff: FailureBackoff, ref: PolicyRef & { error: string }): Promise<void> {
  await db.transaction(async (trx) => {
    const marked = await RetentionRunPolicy.query(trx)
      .findById([ref.retentionRunId, ref.policyId])
      .where('status', 'pending')
      .patch({ status: 'failed', error: ref.error });
    if (marked === 0) return;
    const policy = await RetentionPolicy.query(trx).findById(ref.policyId).forUpdate();
    if (!policy) return;
    const failures = policy.consecutiveFailures + 1;
    const restingUntil = failures >= backoff.maxFailures ? new Date(Date.now() + backoff.failureBackoffMinutes * 60_000) : null;
    await RetentionPolicy.query(trx)
      .findById(ref.policyId)
      .patch({ consecutiveFailures: failures, restingUntil, lastError: ref.error, updatedAt: new Date() });
  });
}

/** Closes a running run and reports it (retention_run.<status>) in the same transaction. */
export async function closeRetentionRun(db: Db, input: { retentionRunId: string; status: RetentionRunStatus }, failedRun?: FailedRun): Promise<void> {
  await db.transaction(async (trx) => {
    const moved = await RetentionRun.query(trx)
      .findById(input.retentionRunId)
      .where('status', 'running')
      .patch({ status: input.status, closedStatus: input.status, completedAt: new Date() });
    if (moved > 0 && input.status !== 'running') {
      await recordOutboxEvent(trx, `retention_run.${input.status}`, { retentionRun: await getRetentionRun(trx, input.retentionRunId) });
    }
    if (failedRun) await reportRunFailed(trx, failedRun);
  });
}
