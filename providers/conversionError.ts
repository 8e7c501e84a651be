/** Why a conversion failed; only `corrupt_input` says the same input will fail again. */
export type ConversionFailureReason = 'corrupt_input' | 'timeout' | 'aborted' | 'tool_missing' | 'tool_crashed';

export class ConversionError extends Error {
  override readonly name = 'ConversionError';
  readonly retryable: boolean;

  constructor(
    message: string,
    readonly reason: ConversionFailureReason,
    options: { cause?: unknown; detail?: string } = {},
  ) {
    super(options.detail ? `${message}: ${options.detail}` : message, { cause: options.cause });
    this.retryable = reason !== 'corrupt_input';
  }
}

export const corruptInput = (message: string, cause?: unknown) =>
  new ConversionError(message, 'corrupt_input', { cause, detail: cause instanceof Error ? cause.message : undefined });
