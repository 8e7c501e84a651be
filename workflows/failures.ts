import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';

/**
 * The ApplicationFailure of `type` an activity raised, if that is why `err` happened. An activity's failure comes
 * wrapped in an ActivityFailure; a local activity's reaches the workflow as the ApplicationFailure itself.
 */
export function applicationFailureOf(err: unknown, type: string): ApplicationFailure | null {
  const failure = err instanceof ActivityFailure ? err.cause : err;
  return failure instanceof ApplicationFailure && failure.type === type ? failure : null;
}

/** What went wrong, in words: the activity's own error rather than the wrapper. */
export function causeMessage(err: unknown): string {
  const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}
