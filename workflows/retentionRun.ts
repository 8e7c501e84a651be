import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  continueAsNew,
  ContinueAsNew,
  isCancellation,
  proxyActivities,
  setHandler,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { PlannedPolicy, RetentionActivities } from '../activities/retention';
import { causeMessage } from './failures';
import {
  progressQuery,
  RETENTION_POLICY_FAILED,
  type Progress,
  type RetentionRunInput,
  type RetentionRunResult,
} from './retentionRun.contract';

// Bookkeeping: a few quick writes; five attempts over ~15 s ride out a database failover.
const bookkeeping = proxyActivities<RetentionActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

// One call works through batches for up to 20 s and heartbeats after every batch, so a
// dead worker is noticed after 15 s. Five attempts (1, 2, 4, 8 s apart) ride out a Postgres
// restart; a policy whose table or bucket stays unreachable longer is counted as failed
// and the run moves on.
const batches = proxyActivities<RetentionActivities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
});

export async function retentionRun(input: RetentionRunInput): Promise<RetentionRunResult> {
  let progress: Progress = { stage: 'planning', percent: 0, detail: null };
  setHandler(progressQuery, () => progress);

  const info = workflowInfo();
  // A scheduled run names neither: both are fixed here once and carried over a continue-as-new.
  const retentionRunId = input.retentionRunId ?? uuid4();
  const asOf = input.asOf ?? info.runStartTime.toISOString();
  const run = { ...input, retentionRunId, asOf };

  try {
    return await runPolicies(run, info.workflowId, (next) => {
      progress = next;
    });
  } catch (err) {
    if (err instanceof ContinueAsNew) throw err;
    // Whatever stopped the run, the record says so (a no-op when it already does); the counts
    // so far are committed batch by batch, so a canceled run keeps them.
    const status = isCancellation(err) ? 'canceled' : 'failed';
    await CancellationScope.nonCancellable(() => bookkeeping.closeRetentionRun({ retentionRunId, status }));
    throw err;
  }
}

type RunInput = RetentionRunInput & { retentionRunId: string; asOf: string };

async function runPolicies(run: RunInput, workflowId: string, show: (progress: Progress) => void): Promise<RetentionRunResult> {
  const { retentionRunId } = run;
  const plan = await bookkeeping.openRetentionRun({ ...run, workflowId });
  const results: RetentionRunResult['policies'] = [];
  const failed: Array<{ entity: string; error: string }> = [];
  const pending = plan.filter((p) => p.status === 'pending');
  const settledBefore = plan.length - pending.length;

  for (const [index, policy] of pending.entries()) {
    const stage = `policy ${policy.entity}`;
    const percent = percentOf(settledBefore + index, plan.length);
    show({ stage, percent, detail: null });
    const outcome = await applyPolicy({ retentionRunId, policyId: policy.policyId }, policy, (detail) => show({ stage, percent, detail }));
    if (outcome === 'continue') {
      // Long runs start a fresh history; the plan, cursors and counts live in the database.
      return continueAsNew<typeof retentionRun>(run);
    }
    if (outcome.status === 'failed') failed.push({ entity: policy.entity, error: outcome.error ?? '' });
    results.push({ policyId: policy.policyId, status: outcome.status, matched: outcome.matched, affected: outcome.affected });
  }

  const status = failed.length > 0 ? 'failed' : 'completed';
  await bookkeeping.closeRetentionRun({ retentionRunId, status });
  const errors = failed.map(({ entity, error }) => `${entity}: ${error}`);
  show({ stage: status, percent: 100, detail: failed.length > 0 ? errors.join('; ') : null });
  if (failed.length > 0) throw policiesFailed(run, failed.map((f) => f.entity), errors);
  return { retentionRunId, status, policies: results };
}

/**
 * The run's failure. A failure's message is never encrypted, and the errors may quote SQL or object keys:
 * with encrypted payloads the message names the entities and the errors travel in its (encrypted) details.
 */
function policiesFailed(run: RunInput, entities: string[], errors: string[]): ApplicationFailure {
  if (!run.encryptedHistory) return ApplicationFailure.nonRetryable(`retention policies failed: ${errors.join('; ')}`, RETENTION_POLICY_FAILED);
  return ApplicationFailure.create({
    message: `retention policies failed: ${entities.join(', ')}`,
    type: RETENTION_POLICY_FAILED,
    nonRetryable: true,
    details: [errors],
  });
}

type PolicyOutcome = 'continue' | { status: 'completed' | 'failed'; matched: number; affected: number; error?: string };

/** All batches of one policy; a failure after its retries is counted against the policy, not the run's other policies. */
async function applyPolicy(
  ref: { retentionRunId: string; policyId: string },
  policy: PlannedPolicy,
  report: (detail: string) => void,
): Promise<PolicyOutcome> {
  try {
    for (;;) {
      const counts = await batches.applyRetentionPolicy(ref);
      report(`${policy.entity}: ${counts.matched} matched, ${counts.affected} changed`);
      if (counts.done) break;
      if (workflowInfo().continueAsNewSuggested) return 'continue';
    }
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const error = causeMessage(err);
    await bookkeeping.failRetentionPolicy({ ...ref, error });
    return { status: 'failed', matched: 0, affected: 0, error };
  }
  const { workflowId, runId } = workflowInfo();
  const counts = await bookkeeping.finishRetentionPolicy({ ...ref, workflowId, runId });
  return { status: 'completed', matched: counts.matched, affected: counts.affected };
}

const percentOf = (done: number, total: number) => (total === 0 ? 100 : Math.floor((done * 100) / total));
