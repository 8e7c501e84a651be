// What browsers need and get: CORS for the allow-listed origins only (@koa/cors), and the usual security
// headers on every response (helmet): nosniff, frames denied, a restrictive CSP, HSTS behind TLS.
import cors from '@koa/cors';
import type { Middleware } from 'koa';
import helmet from 'koa-helmet';
import type { Config } from '../../lib/config';

export type CorsSettings = Pick<
  Config,
  'CORS_ALLOWED_ORIGINS' | 'CORS_ALLOWED_METHODS' | 'CORS_ALLOWED_HEADERS' | 'CORS_ALLOW_CREDENTIALS' | 'CORS_MAX_AGE_SECONDS'
>;

/** CORS headers for an allowed origin; nothing for any other (the browser then refuses the answer). */
export function corsFor(settings: CorsSettings): Middleware {
  const allowed = new Set(settings.CORS_ALLOWED_ORIGINS);
  return cors({
    // Answering '' leaves out every CORS header for an origin that is not on the list.
    origin: (ctx) => (allowed.has(ctx.get('Origin')) ? ctx.get('Origin') : ''),
    allowMethods: [...settings.CORS_ALLOWED_METHODS],
    allowHeaders: [...settings.CORS_ALLOWED_HEADERS],
    exposeHeaders: ['x-request-id', 'retry-after'],
    credentials: settings.CORS_ALLOW_CREDENTIALS,
    maxAge: settings.CORS_MAX_AGE_SECONDS,
  });
}

/** The docs page is JSON too: nothing on it may load, run or be framed. */
const CSP = { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] };

export function securityHeaders(): Middleware {
  const headers = helmet({
    contentSecurityPolicy: { useDefaults: false, directives: CSP },
    frameguard: { action: 'deny' },
    strictTransportSecurity: false,
  });
  return async (ctx, next) => {
    // HSTS means something only on a response that arrived over TLS.
    if (ctx.secure) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    await headers(ctx, next);
  };
}
