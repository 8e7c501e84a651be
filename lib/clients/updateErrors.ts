// The one place a failed workflow Update becomes an API error. Validators reject with an
// ApplicationFailure whose `type` is listed in their contract module; the type, never the
// message text, decides the status, and the code is the type in upper snake case.
import { WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { AppError, type ErrorType } from '../errors';
import type { PaymentUpdateRejection } from '../../workflows/paymentCapture.contract';
import type { ReleaseUpdateRejection } from '../../workflows/releaseEvaluation.contract';

type RejectionStatus = 400 | 404 | 409 | 422;

/** Every rejection type of every contract must be listed: a new one without a status breaks the build. */
const REJECTION_STATUS: Record<PaymentUpdateRejection | ReleaseUpdateRejection, RejectionStatus> = {
  PaymentNotCapturable: 409,
  PaymentNotCancelable: 409,
  UnknownGate: 404,
  ReleaseClosed: 409,
  InvalidEvaluation: 400,
  MetricsContradictStatus: 422,
  MetricsIncomplete: 422,
};

const ERROR_TYPE: Record<RejectionStatus, ErrorType> = {
  400: 'validation_error',
  404: 'not_found',
  409: 'conflict',
  422: 'validation_error',
};

/** What an Update's caller answers when the Update did not go through. */
export interface UpdateOutcomes {
  /** The run is closed (or never existed): nothing is left to update. */
  closed: AppError;
  /** No worker answered before the Update's deadline. */
  unanswered: AppError;
  /** Any other failure (say, a handler that failed after its retries); without it such an error is rethrown as it is. */
  failed?: (reason: string) => AppError;
  /** Words for a rejection when the caller states them better than the workflow's message. */
  rejectionMessage?: string;
}

type UpdateRejection = keyof typeof REJECTION_STATUS;

const isRejectionType = (type: string | undefined | null): type is UpdateRejection => !!type && Object.hasOwn(REJECTION_STATUS, type);

/** The API error of a rejection: its status from the table, its code the type in upper snake case. */
export function rejectionError(type: UpdateRejection, message: string): AppError {
  const status = REJECTION_STATUS[type];
  return new AppError(status, ERROR_TYPE[status], type.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase(), message);
}

/** The API error for a failed Update, or `err` itself when it says nothing about the Update. */
export function updateErrorOf(err: unknown, outcomes: UpdateOutcomes): unknown {
  if (err instanceof WorkflowNotFoundError) return outcomes.closed;
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return outcomes.unanswered;
  const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  if (cause instanceof ApplicationFailure && isRejectionType(cause.type)) {
    return rejectionError(cause.type, outcomes.rejectionMessage ?? cause.message);
  }
  if (!outcomes.failed) return err;
  return outcomes.failed(err instanceof Error ? err.message : String(err));
}
