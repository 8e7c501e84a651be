import { expect } from 'chai';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { AppError, conflict, unavailable } from '../../lib/errors';
import { updateErrorOf, type UpdateOutcomes } from '../../lib/clients/updateErrors';

const rejected = (type: string, message: string) =>
  new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.create({ type, message, nonRetryable: true }));

describe('rejected workflow Updates become API errors by failure type, never by message text', () => {
  const outcomes: UpdateOutcomes = {
    closed: conflict('RUN_CLOSED', 'the run is closed'),
    unanswered: unavailable('NO_WORKER', 'no worker answered in time'),
  };

  it('maps each rejection type to its status, its code the type in upper snake case', () => {
    const unknownGate = updateErrorOf(rejected('UnknownGate', 'no gate "x"'), outcomes) as AppError;
    expect(unknownGate).to.include({ status: 404, type: 'not_found', code: 'UNKNOWN_GATE', message: 'no gate "x"' });
    const contradicted = updateErrorOf(rejected('MetricsContradictStatus', 'fails'), outcomes) as AppError;
    expect(contradicted).to.include({ status: 422, type: 'validation_error', code: 'METRICS_CONTRADICT_STATUS' });
    const notCapturable = updateErrorOf(rejected('PaymentNotCapturable', 'the payment is pending'), { ...outcomes, rejectionMessage: 'the payment is succeeded' });
    expect(notCapturable).to.include({ status: 409, type: 'conflict', code: 'PAYMENT_NOT_CAPTURABLE', message: 'the payment is succeeded' });
  });

  it('answers the caller’s errors for a closed run and an Update no worker took in time', () => {
    expect(updateErrorOf(new WorkflowNotFoundError('not found', 'payment:1', undefined), outcomes)).to.equal(outcomes.closed);
    expect(updateErrorOf(new WorkflowUpdateRPCTimeoutOrCancelledError('deadline exceeded'), outcomes)).to.equal(outcomes.unanswered);
  });

  it('ignores the words of an untyped failure: it is rethrown, or mapped by `failed` when the caller gives one', () => {
    const untyped = new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.create({ message: 'PAYMENT_STATE_CONFLICT: timed out' }));
    expect(updateErrorOf(untyped, outcomes)).to.equal(untyped);
    const failed = updateErrorOf(untyped, { ...outcomes, failed: (reason) => unavailable('NOT_RECORDED', reason) }) as AppError;
    expect(failed).to.include({ status: 503, code: 'NOT_RECORDED', message: 'Workflow Update failed' });
  });
});
