import type { Middleware } from 'koa';
import { AppError, type ErrorBody } from '../../lib/errors';
import type { Logger } from '../../lib/logger';

function envelope(err: AppError, requestId: string): ErrorBody {
  return { type: err.type, code: err.code, message: err.message, details: err.details, requestId };
}

/** Turns every failure into the SPEC §3 envelope; unexpected errors are logged, never leaked. */
export function errorEnvelope(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new AppError(404, 'not_found', 'ROUTE_NOT_FOUND', `no route for ${ctx.method} ${ctx.path}`);
      }
      // The router answers 501 to a method it does not know at all (TRACE, PROPFIND…): for a path that
      // exists that is still a method the path does not have.
      const unknownMethod = ctx.status === 501 && ctx.body === undefined;
      if (unknownMethod && !ctx.response.get('Allow')) {
        throw new AppError(404, 'not_found', 'ROUTE_NOT_FOUND', `no route for ${ctx.method} ${ctx.path}`);
      }
      if ((ctx.status === 405 || unknownMethod) && ctx.body === undefined) {
        throw new AppError(405, 'validation_error', 'METHOD_NOT_ALLOWED', `${ctx.method} is not allowed on ${ctx.path}`, [], {
          Allow: ctx.response.get('Allow'),
        });
      }
    } catch (err) {
      const known = toAppError(err);
      if (known.status >= 500) {
        logger.error('request failed', { requestId: ctx.state.requestId, path: ctx.path, err: describe(err) });
      }
      ctx.status = known.status;
      for (const [name, value] of Object.entries(known.headers)) ctx.set(name, value);
      ctx.body = envelope(known, ctx.state.requestId as string);
    }
  };
}

/** gRPC status codes Temporal answers with, mapped to what the caller can do about them. */
const GRPC_INVALID_ARGUMENT = 3;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_RESOURCE_EXHAUSTED = 8;
const GRPC_UNAVAILABLE = 14;

/** Errors of a dependency that say something about the request or the dependency, not a bug here. */
function dependencyError(err: unknown): AppError | null {
  const { code, nativeError } = err as { code?: unknown; nativeError?: { code?: unknown } };
  // Postgres class 22 (data exception): a value the request carried that the column cannot hold.
  const pgCode = typeof code === 'string' ? code : typeof nativeError?.code === 'string' ? nativeError.code : '';
  if (pgCode.startsWith('22')) return new AppError(400, 'validation_error', 'INVALID_VALUE', 'a value in the request is not valid for its field');
  const grpc = (err as { cause?: { code?: unknown } }).cause?.code ?? code;
  if (grpc === GRPC_INVALID_ARGUMENT) return new AppError(400, 'validation_error', 'INVALID_ARGUMENT', 'Temporal refused the request as invalid');
  // A cluster's rate limit (e.g. frontend.namespaceRPS.visibility), after the SDK's own backed-off retries.
  if (grpc === GRPC_RESOURCE_EXHAUSTED) {
    return new AppError(429, 'rate_limited', 'TEMPORAL_RATE_LIMITED', 'Temporal is rate limiting this namespace; retry shortly', [], { 'Retry-After': '1' });
  }
  if (grpc === GRPC_UNAVAILABLE || grpc === GRPC_DEADLINE_EXCEEDED) {
    return new AppError(503, 'unavailable', 'TEMPORAL_UNAVAILABLE', 'Temporal is not reachable; retry shortly', [], { 'Retry-After': '5' });
  }
  return null;
}

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const dependency = dependencyError(err);
  if (dependency) return dependency;
  const status = (err as { status?: number; expose?: boolean }).status;
  if (status && status >= 400 && status < 500 && (err as { expose?: boolean }).expose) {
    return new AppError(status, status === 404 ? 'not_found' : 'validation_error', 'BAD_REQUEST', (err as Error).message);
  }
  return new AppError(500, 'internal_error', 'INTERNAL_ERROR', 'an unexpected error occurred');
}

function describe(err: unknown): Record<string, unknown> {
  return err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : { value: String(err) };
}
