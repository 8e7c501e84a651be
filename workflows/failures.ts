import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/** The ApplicationFailure of `type` an activity raised, if that is why `err` happened. */
export function applicationFailureOf(err: unknown, type: string): ApplicationFailure | null {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === type ? err.cause : null;
}

/** What went wrong, in words: the activity's own error rather than the wrapper. */
export function causeMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}
