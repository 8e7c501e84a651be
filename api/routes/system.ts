import { Type } from '@sinclair/typebox';
import { createHash, timingSafeEqual } from 'node:crypto';
import { temporalAnswers } from '../../lib/clients/health';
import { unauthorized } from '../../lib/errors';
import { createScannerFromConfig } from '../../providers';
import { stripeReachable } from '../../providers/stripe';
import { cachedReadiness, databaseProbes, type Readiness, type ReadinessProbes } from '../../services/readiness';
import { HealthBody, ReadyBody } from '../../schemas/common';
import type { AppDeps } from '../deps';
import { defineRoute } from '../route';

/** Compares digests of equal length, so the time taken says nothing about the token. */
function sameToken(given: string | string[] | undefined, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return typeof given === 'string' && timingSafeEqual(digest(given), digest(`Bearer ${expected}`));
}

/** The readiness probes of this API's dependencies, answered from a short cache. */
const readinessOf = (() => {
  const perDeps = new WeakMap<AppDeps, () => Promise<Readiness>>();
  return (deps: AppDeps) => {
    let ready = perDeps.get(deps);
    if (!ready) {
      ready = cachedReadiness(probesOf(deps));
      perDeps.set(deps, ready);
    }
    return ready();
  };
})();

/** Below readiness's own limit per check, so the PING's socket is closed by the time the check gives up. */
const SCANNER_PING_MS = 2500;

function probesOf(deps: AppDeps): ReadinessProbes {
  const { config } = deps;
  const scanner = createScannerFromConfig(config);
  const buckets = [config.S3_BUCKET_UPLOADS, config.S3_BUCKET_PRIVATE, config.S3_BUCKET_QUARANTINE];
  return {
    ...databaseProbes(deps.db),
    temporal: async () => {
      await temporalAnswers(deps.temporal);
      return `namespace ${config.TEMPORAL_NAMESPACE} at ${config.TEMPORAL_ADDRESS}`;
    },
    storage: async () => {
      await Promise.all(buckets.map((b) => deps.storage.ping(b)));
      return `buckets ${buckets.join(', ')}`;
    },
    scanner: async () => {
      await scanner.ping(SCANNER_PING_MS);
      return `clamd answers at ${config.CLAMD_HOST}:${config.CLAMD_PORT}`;
    },
    stripe: async () => {
      await stripeReachable({ apiBase: config.STRIPE_API_BASE, secretKey: config.STRIPE_SECRET_KEY }, config.PROVIDER_TIMEOUT_MS);
      return `reachable at ${new URL(config.STRIPE_API_BASE).host}`;
    },
  };
}

export const systemRoutes = [
  defineRoute({
    method: 'get',
    path: '/health',
    summary: 'Liveness',
    tag: 'system',
    access: 'public',
    responses: { 200: { description: 'the process is alive', schema: HealthBody } },
    handler: async () => ({ status: 200, body: { status: 'ok' } }),
  }),
  defineRoute({
    method: 'get',
    path: '/ready',
    summary: 'Readiness of the database, migrations, Temporal, storage (and the scanner and Stripe, reported only)',
    tag: 'system',
    access: 'public',
    responses: {
      200: { description: 'ready', schema: ReadyBody },
      503: { description: 'a required dependency is down', schema: ReadyBody },
    },
    handler: async ({ deps }) => {
      const { ready, checks } = await readinessOf(deps);
      return { status: ready ? 200 : 503, body: { status: ready ? 'ready' : 'unavailable', checks } };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (bearer METRICS_BEARER_TOKEN when set)',
    tag: 'system',
    access: 'public',
    headers: [{ name: 'Authorization', required: false, description: 'Bearer METRICS_BEARER_TOKEN when it is set' }],
    responses: { 200: { description: 'Prometheus text format', schema: Type.String(), contentType: 'text/plain' } },
    handler: async ({ deps, headers }) => {
      const expected = deps.config.METRICS_BEARER_TOKEN;
      if (expected && !sameToken(headers.authorization, expected)) {
        throw unauthorized('METRICS_TOKEN_INVALID', 'the metrics bearer token is missing or wrong');
      }
      return {
        status: 200,
        body: await deps.metrics.registry.metrics(),
        headers: { 'Content-Type': deps.metrics.registry.contentType },
      };
    },
  }),
];
