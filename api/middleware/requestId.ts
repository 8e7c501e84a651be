import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';

const ACCEPTED = /^[A-Za-z0-9._-]{1,128}$/;

/** Keeps a well-formed incoming X-Request-Id, replaces anything else, and echoes it. */
export const requestId: Middleware = async (ctx, next) => {
  const incoming = ctx.get('X-Request-Id');
  const id = ACCEPTED.test(incoming) ? incoming : randomUUID();
  ctx.state.requestId = id;
  ctx.set('X-Request-Id', id);
  await next();
};
