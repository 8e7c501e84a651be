// The typed client of release readiness runs: the API starts and updates them only through here.
import type { Client } from '@temporalio/client';
import { conflict, unavailable } from '../errors';
import type { Run } from '../../schemas/common';
import type { TemporalSettings } from '../temporal';
import type { releaseEvaluation } from '../../workflows/releaseEvaluation';
import {
  evaluateGateUpdate,
  reevaluateUpdate,
  RELEASE_EVALUATION_WORKFLOW,
  releaseEvaluationWorkflowId,
  RELEASES_DOMAIN,
  RELEASES_TASK_QUEUE,
  type GateEvaluationRequest,
  type ReevaluateRequest,
  type ReleaseEvaluationInput,
  type ReleaseReadiness,
} from '../../workflows/releaseEvaluation.contract';
import { DEADLINES_MS, executeUpdate, startOrGetRun } from './calls';
import type { UpdateOutcomes } from './updateErrors';

export function startReleaseEvaluation(client: Client, settings: TemporalSettings, input: ReleaseEvaluationInput, summary: string): Promise<Run> {
  return startOrGetRun<typeof releaseEvaluation>(client, settings, {
    workflowType: RELEASE_EVALUATION_WORKFLOW,
    taskQueue: RELEASES_TASK_QUEUE,
    domain: RELEASES_DOMAIN,
    workflowId: releaseEvaluationWorkflowId(input.publicId),
    args: [input],
    businessKey: input.publicId,
    summary,
  });
}

const notRecorded = (reason: string) => unavailable('RELEASE_NOT_RECORDED', `the release workflow did not record the evaluation: ${reason}`);

/** A rejected update keeps its meaning (see updateErrors.ts); anything else means the evaluation was not recorded. */
const releaseUpdateOutcomes = (): UpdateOutcomes => ({
  closed: conflict('RELEASE_CLOSED', 'the release run is closed'),
  unanswered: notRecorded(`the release workflow update timed out after ${DEADLINES_MS.releaseUpdate} ms`),
  failed: notRecorded,
});

/** Records one gate evaluation in the run's workflow and answers the new readiness. */
export function evaluateReleaseGate(client: Client, publicId: string, request: GateEvaluationRequest): Promise<ReleaseReadiness> {
  const workflowId = releaseEvaluationWorkflowId(publicId);
  return executeUpdate(client, workflowId, evaluateGateUpdate, request, DEADLINES_MS.releaseUpdate, releaseUpdateOutcomes());
}

/** Recomputes the run's readiness; fresh metrics re-evaluate the auto gates. */
export function reevaluateRelease(client: Client, publicId: string, request: ReevaluateRequest): Promise<ReleaseReadiness> {
  const workflowId = releaseEvaluationWorkflowId(publicId);
  return executeUpdate(client, workflowId, reevaluateUpdate, request, DEADLINES_MS.releaseUpdate, releaseUpdateOutcomes());
}
