// Activities of the retention process: thin over services/retention, heartbeating the
// batches of a policy. Their names, arguments and results are recorded in histories.
import { Context } from '@temporalio/activity';
import type { Config } from '../lib/config';
import type { Db } from '../lib/db';
import type { Storage } from '../providers/storage';
import type { RetentionRunStatus } from '../schemas/retention';
import { failingRun } from './context';
import {
  closeRetentionRun,
  failRetentionPolicy,
  finishRetentionPolicy,
  openRetentionRun,
  runRetentionBatch,
  type FailureBackoff,
  type FoundAhead,
  type OpenRetentionRunInput,
  type PlannedPolicy,
  type PolicyCounts,
  type PolicyRef,
  type RetentionBatchDeps,
} from '../services/retention';
import { failingPermanently } from './permanentFailures';

export { SAMPLE_SIZE } from '../services/retention';
export type { OpenRetentionRunInput, PlannedPolicy, PolicyCounts, PolicyRef };

export type RetentionActivityDeps = RetentionBatchDeps & FailureBackoff;

/** The activities' settings as the worker configures them. */
export function retentionActivityDeps(config: Config, db: Db, storage: Storage): RetentionActivityDeps {
  return {
    db,
    storage,
    buckets: { uploads: config.S3_BUCKET_UPLOADS, quarantine: config.S3_BUCKET_QUARANTINE },
    batchSize: config.DATA_RETENTION_BATCH_SIZE,
    objectBatchSize: config.DATA_RETENTION_OBJECT_BATCH_SIZE,
    maxFailures: config.DATA_RETENTION_MAX_FAILURES,
    failureBackoffMinutes: config.DATA_RETENTION_FAILURE_BACKOFF_MINUTES,
  };
}

/** One activity call works through batches for at most this long, then hands back so the workflow shows progress. */
const SLICE_MS = 20_000;

export function createRetentionActivities(deps: RetentionActivityDeps) {
  const { db } = deps;

  /** Works through batches of one policy, heartbeating the counts after each, for at most one slice. */
  async function applyPolicyForOneSlice(ref: PolicyRef): Promise<PolicyCounts> {
    const context = Context.current();
    const started = Date.now();
    let ahead: FoundAhead | undefined;
    for (;;) {
      const { next, ...counts } = await runRetentionBatch(deps, ref, ahead);
      ahead = next;
      context.heartbeat(counts);
      if (counts.done || Date.now() - started > SLICE_MS) {
        await ahead?.found.catch(() => undefined);
        return counts;
      }
    }
  }

  return {
    openRetentionRun: (input: OpenRetentionRunInput): Promise<PlannedPolicy[]> => openRetentionRun(db, input),
    applyRetentionPolicy: (ref: PolicyRef): Promise<PolicyCounts> => failingPermanently(() => applyPolicyForOneSlice(ref)),
    finishRetentionPolicy: (ref: PolicyRef & { workflowId: string; runId: string }): Promise<PolicyCounts> =>
      failingPermanently(() => finishRetentionPolicy(db, ref)),
    failRetentionPolicy: (ref: PolicyRef & { error: string }): Promise<void> => failRetentionPolicy(db, deps, ref),
    // A failed retention run always ends Failed: it is reported as run.failed with the record.
    closeRetentionRun: (input: { retentionRunId: string; status: RetentionRunStatus }): Promise<void> =>
      closeRetentionRun(db, input, input.status === 'failed' ? failingRun(`retention run ${input.retentionRunId} failed`) : undefined),
  };
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
