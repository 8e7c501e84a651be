// What browsers need and get: CORS for the allow-listed origins only (@koa/cors), and the usual security
// headers on every response (helmet): nosniff, frames denied, a restrictive CSP, HSTS behind TLS.
import cors from '@koa/cors';
import type { Middleware } from 'koa';
import helmet from 'koa-helmet';
import type { Config } from '../../lib/config';

export type CorsSettings = Pick<
  Config,
  'CORS_ALLOWED_ORIGINS' | 'CORS_ALLOWED_METHODS' | 'CORS_ALLOWED_HEADERS' | 'CORS_ALLOW_CREDENTIALS' | 'CORS_MAX_AGE_SECONDS' | 'TEMPORAL_UI_URL'
>;

/** The codec server's routes (SPEC §3): the Temporal UI's origin may call them too. */
const CODEC_PATH_PREFIX = '/api/v1/temporal-codec/';

/** CORS headers for an allowed origin; nothing for any other (the browser then refuses the answer). */
export function corsFor(settings: CorsSettings): Middleware {
  const api = corsWith(settings, new Set(settings.CORS_ALLOWED_ORIGINS), settings.CORS_ALLOWED_HEADERS);
  // The UI sends X-Namespace, and may send its requests with credentials (its codec setting does so).
  const ui = new URL(settings.TEMPORAL_UI_URL).origin;
  const codec = corsWith(settings, new Set([...settings.CORS_ALLOWED_ORIGINS, ui]), [...settings.CORS_ALLOWED_HEADERS, 'x-namespace'], ui);
  return (ctx, next) => (ctx.path.startsWith(CODEC_PATH_PREFIX) ? codec(ctx, next) : api(ctx, next));
}

function corsWith(settings: CorsSettings, allowed: ReadonlySet<string>, headers: readonly string[], credentialedOrigin?: string): Middleware {
  return cors({
    // Answering '' leaves out every CORS header for an origin that is not on the list.
    origin: (ctx) => (allowed.has(ctx.get('Origin')) ? ctx.get('Origin') : ''),
    allowMethods: [...settings.CORS_ALLOWED_METHODS],
    allowHeaders: [...headers],
    exposeHeaders: ['x-request-id', 'retry-after'],
    credentials: (ctx) => settings.CORS_ALLOW_CREDENTIALS || ctx.get('Origin') === credentialedOrigin,
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
