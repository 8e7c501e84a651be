import { ApplicationFailure } from '@temporalio/activity';
import { PermanentFailure } from '../services/permanentFailure';

/** Runs service work, turning a PermanentFailure into a non-retryable ApplicationFailure of the same type. */
export async function failingPermanently<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof PermanentFailure) throw ApplicationFailure.nonRetryable(err.message, err.type);
    throw err;
  }
}
