// Shared by the API and the workflow: how to find, start, ask and update a release run.
import { defineUpdate } from '@temporalio/workflow';
import type {
  GateEvaluationRequest,
  GateState,
  ReevaluateRequest,
  ReleaseEvaluationInput,
  ReleaseEvaluationResult,
  ReleaseReadiness,
} from '../schemas/releases';

export type { GateEvaluationRequest, ReevaluateRequest, ReleaseEvaluationInput, ReleaseEvaluationResult, ReleaseReadiness };
export { progressQuery, type Progress } from './progress';

export const RELEASE_EVALUATION_WORKFLOW = 'releaseEvaluation';
export const RELEASES_TASK_QUEUE = 'releases';
export const RELEASES_DOMAIN = 'releases';

/** `publicId` is the release run's UUID, minted by the API when the run is created. */
export const releaseEvaluationWorkflowId = (publicId: string): string => `release:${publicId}`;

/** Records one gate evaluation (validated first: a rejected one leaves no trace) and answers the new readiness. */
export const evaluateGateUpdate = defineUpdate<ReleaseReadiness, [GateEvaluationRequest]>('evaluateGate');
/** Recomputes readiness; fresh metrics re-evaluate the auto gates. */
export const reevaluateUpdate = defineUpdate<ReleaseReadiness, [ReevaluateRequest]>('reevaluate');

/** ApplicationFailure types the update validators reject with; lib/clients/updateErrors.ts gives each its status. */
export type ReleaseUpdateRejection = 'UnknownGate' | 'ReleaseClosed' | 'InvalidEvaluation' | 'MetricsContradictStatus' | 'MetricsIncomplete';

/**
 * Blocked while a required gate fails; ready when every required gate passes or is waived.
 * Pure, so the workflow decides with it and the API shows the same blocking gates.
 */
export function readinessOf(gates: readonly GateState[]): ReleaseReadiness {
  const required = gates.filter((g) => g.required);
  const passed = required.filter((g) => g.status === 'pass' || g.status === 'waived').length;
  const blockingGates = required.filter((g) => g.status === 'fail').map((g) => g.key);
  const status = blockingGates.length > 0 ? 'blocked' : passed === required.length ? 'ready' : 'pending';
  return {
    status,
    readinessScore: required.length === 0 ? 100 : Math.round((100 * passed) / required.length),
    blockingGates,
    gates: gates.map(({ key, required, status }) => ({ key, required, status })),
  };
}
