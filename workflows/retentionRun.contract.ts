// Shared by the API, the schedule and the workflow: how to find, start and ask a retention run.
import type { RetentionRunInput, RetentionRunResult } from '../schemas/retention';

export type { RetentionRunInput, RetentionRunResult };
export { progressQuery, type Progress } from './progress';

export const RETENTION_RUN_WORKFLOW = 'retentionRun';
export const RETENTION_TASK_QUEUE = 'retention';
export const RETENTION_DOMAIN = 'retention';
export const DATA_RETENTION_SCHEDULE_ID = 'data-retention';

export const retentionRunWorkflowId = (retentionRunId: string): string => `retention:${retentionRunId}`;

/** ApplicationFailure type of a run in which a policy failed after its retries (the other policies still ran). */
export const RETENTION_POLICY_FAILED = 'RetentionPolicyFailed';
