/**
 * A failure that retrying cannot fix (a missing record, a policy that does not fit its
 * entity). Services know nothing of Temporal: activities report it as non-retryable under `type`.
 */
export class PermanentFailure extends Error {
  constructor(
    message: string,
    readonly type: string,
  ) {
    super(message);
    this.name = type;
  }
}
