/** The error envelope of SPEC §3 and the errors that map onto it. */
export type ErrorType =
  | 'validation_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found'
  | 'conflict'
  | 'rate_limited'
  | 'provider_error'
  | 'unavailable'
  | 'internal_error';

export interface ErrorDetail {
  path?: string;
  message: string;
  [key: string]: unknown;
}

export interface ErrorBody {
  type: ErrorType;
  code: string;
  message: string;
  details: ErrorDetail[];
  requestId: string;
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (code: string, message: string, details: ErrorDetail[] = []) =>
  new AppError(400, 'validation_error', code, message, details);
export const unauthorized = (code: string, message: string) => new AppError(401, 'authentication_error', code, message);
export const forbidden = (code: string, message: string) => new AppError(403, 'permission_error', code, message);
export const notFound = (what: string) => new AppError(404, 'not_found', 'NOT_FOUND', `${what} not found`);
export const conflict = (code: string, message: string) => new AppError(409, 'conflict', code, message);
export const tooLarge = (code: string, message: string) => new AppError(413, 'validation_error', code, message);
export const unsupportedMedia = (code: string, message: string) => new AppError(415, 'validation_error', code, message);
export const unprocessable = (code: string, message: string, details: ErrorDetail[] = []) =>
  new AppError(422, 'validation_error', code, message, details);
export const providerError = (code: string, message: string) => new AppError(502, 'provider_error', code, message);
export const unavailable = (code: string, message: string) => new AppError(503, 'unavailable', code, message);
