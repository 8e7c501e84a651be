// The retention domain: policies as data, runs and their progress, the SQL builder and batch
// strategies. Called by the API's routes and by the retention activities; no Koa, no Temporal.
export { SAMPLE_SIZE, runRetentionBatch, type FoundAhead, type RetentionBatchDeps } from './batches';
export {
  checkPoliciesExist,
  createRetentionPolicy,
  getRetentionPolicy,
  listRetentionAuditLogs,
  listRetentionPolicies,
  updateRetentionPolicy,
} from './policies';
export {
  closeRetentionRun,
  failRetentionPolicy,
  finishRetentionPolicy,
  openRetentionRun,
  type FailureBackoff,
  type OpenRetentionRunInput,
  type PlannedPolicy,
  type PolicyCounts,
  type PolicyRef,
} from './runs';
export {
  getRetentionRun,
  listRetentionRuns,
  requestRetentionRun,
  retentionRunProgress,
  type RetentionRunRequest,
  type RetentionRunStarter,
} from './runViews';
