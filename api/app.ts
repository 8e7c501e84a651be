import Router from '@koa/router';
import Koa, { type ParameterizedContext } from 'koa';
import { compileValidator, type Validator } from '../lib/validation';
import type { AppDeps } from './deps';
import { ANONYMOUS, authenticate, requireRole, type Principal } from './middleware/auth';
import { readJsonBody, readRawBody } from './middleware/body';
import { corsFor, securityHeaders } from './middleware/browsers';
import { errorEnvelope } from './middleware/errors';
import { requestId } from './middleware/requestId';
import type { AnyRoute } from './route';
import { allRoutes } from './routes';

interface CompiledRoute {
  route: AnyRoute;
  params?: Validator;
  query?: Validator;
  body?: Validator;
}

function compile(route: AnyRoute): CompiledRoute {
  return {
    route,
    params: route.params && compileValidator(route.params, 'params'),
    query: route.query && compileValidator(route.query, 'query'),
    body: route.body && compileValidator(route.body, 'body'),
  };
}

async function principalFor(ctx: ParameterizedContext, route: AnyRoute, deps: AppDeps): Promise<Principal> {
  if (route.access === 'public' || route.access === 'stripe-signature') return ANONYMOUS;
  const principal = await authenticate(ctx.get('Authorization') || undefined, deps.config);
  requireRole(principal, route.access);
  return principal;
}

async function readBody(ctx: ParameterizedContext, compiled: CompiledRoute): Promise<{ body: unknown; raw?: Buffer; text?: string }> {
  if (compiled.route.rawBody) {
    const raw = await readRawBody(ctx);
    return { body: undefined, raw };
  }
  if (!compiled.body) return { body: undefined };
  const { text, value } = await readJsonBody(ctx);
  return { body: value === undefined ? {} : value, text };
}

function handle(compiled: CompiledRoute, deps: AppDeps) {
  const { route } = compiled;
  return async (ctx: ParameterizedContext) => {
    const principal = await principalFor(ctx, route, deps);
    if (route.rateGroup) deps.rateLimiter.take(principal === ANONYMOUS ? `ip:${ctx.ip}` : principal.sub, route.rateGroup);
    const params = { ...ctx.params };
    const query = { ...ctx.query };
    compiled.params?.(params);
    compiled.query?.(query);
    const { body, raw, text } = await readBody(ctx, compiled);
    compiled.body?.(body);
    const result = await route.handler(
      { params, query, body, bodyText: text, principal, headers: ctx.headers, rawBody: raw, requestId: ctx.state.requestId, deps },
      ctx,
    );
    ctx.status = result.status;
    for (const [name, value] of Object.entries(result.headers ?? {})) ctx.set(name, value);
    ctx.body = result.body;
  };
}

function observeHttp(deps: AppDeps): Koa.Middleware {
  return async (ctx, next) => {
    const stop = deps.metrics.httpDuration.startTimer();
    try {
      await next();
    } finally {
      const route = (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      stop({ method: ctx.method, route: String(route), status: String(ctx.status) });
      // Checked first: below its level winston still builds the entry and runs its stream for nothing.
      if (deps.logger.isInfoEnabled()) deps.logger.info('http', { requestId: ctx.state.requestId, method: ctx.method, route, status: ctx.status });
    }
  };
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = false;
  const router = new Router();
  for (const route of allRoutes) {
    router.register(route.path, [route.method.toUpperCase()], handle(compile(route), deps));
  }
  app.use(requestId);
  app.use(securityHeaders());
  app.use(observeHttp(deps));
  app.use(errorEnvelope(deps.logger));
  // Preflights are answered here, before routing: they are exempt from the 405 rule.
  app.use(corsFor(deps.config));
  app.use(router.routes());
  app.use(router.allowedMethods({ throw: false }));
  return app;
}
