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
      if (ctx.status === 405 && ctx.body === undefined) {
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

function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const status = (err as { status?: number; expose?: boolean }).status;
  if (status && status >= 400 && status < 500 && (err as { expose?: boolean }).expose) {
    return new AppError(status, status === 404 ? 'not_found' : 'validation_error', 'BAD_REQUEST', (err as Error).message);
  }
  return new AppError(500, 'internal_error', 'INTERNAL_ERROR', 'an unexpected error occurred');
}

function describe(err: unknown): Record<string, unknown> {
  return err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : { value: String(err) };
}
