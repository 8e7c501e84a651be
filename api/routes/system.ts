import { Type } from '@sinclair/typebox';
import { pendingMigrations } from '../../lib/db';
import { unauthorized } from '../../lib/errors';
import { withTimeout } from '../../lib/timeout';
import { HealthBody, ReadyBody } from '../../schemas/common';
import type { AppDeps } from '../deps';
import { defineRoute } from '../route';

interface Check {
  ok: boolean;
  detail: string;
}

const CHECK_TIMEOUT_MS = 3000;

async function check(what: string, probe: () => Promise<string>): Promise<Check> {
  try {
    return { ok: true, detail: await withTimeout(probe(), CHECK_TIMEOUT_MS, what) };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

export async function readiness(deps: AppDeps) {
  const { config } = deps;
  const buckets = [config.S3_BUCKET_UPLOADS, config.S3_BUCKET_PRIVATE, config.S3_BUCKET_QUARANTINE];
  const [database, migrations, temporal, storage, stripe] = await Promise.all([
    check('database', async () => {
      await deps.db.raw('select 1');
      return 'connected';
    }),
    check('migrations', async () => {
      const pending = await pendingMigrations(deps.db);
      if (pending.length > 0) throw new Error(`pending: ${pending.join(', ')}`);
      return 'current';
    }),
    check('temporal', async () => {
      await deps.temporal.connection.workflowService.getSystemInfo({});
      return `namespace ${config.TEMPORAL_NAMESPACE} at ${config.TEMPORAL_ADDRESS}`;
    }),
    check('storage', async () => {
      await Promise.all(buckets.map((b) => deps.storage.ping(b)));
      return `buckets ${buckets.join(', ')}`;
    }),
    check('stripe', async () => {
      const res = await fetch(`${config.STRIPE_API_BASE}/v1/balance`, {
        headers: { Authorization: `Bearer ${config.STRIPE_SECRET_KEY}` },
        signal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return `reachable at ${new URL(config.STRIPE_API_BASE).host}`;
    }),
  ]);
  const checks = { database, migrations, temporal, storage, stripe };
  // Stripe is reported but does not make the API unready: only payments need it.
  const ready = database.ok && migrations.ok && temporal.ok && storage.ok;
  return { ready, checks };
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
    summary: 'Readiness of the database, migrations, Temporal, storage (and Stripe, reported only)',
    tag: 'system',
    access: 'public',
    responses: {
      200: { description: 'ready', schema: ReadyBody },
      503: { description: 'a required dependency is down', schema: ReadyBody },
    },
    handler: async ({ deps }) => {
      const { ready, checks } = await readiness(deps);
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
    responses: { 200: { description: 'Prometheus text format', schema: Type.String() } },
    handler: async ({ deps, headers }) => {
      const expected = deps.config.METRICS_BEARER_TOKEN;
      if (expected && headers.authorization !== `Bearer ${expected}`) {
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
