import type { Db } from '../lib/db';
import { registerGauge, type ApiMetrics } from '../lib/metrics';
import { registerReleaseMetrics } from './releaseMetrics';
import { registerTelemetryMetrics } from './telemetryMetrics';

/** Gauges read from the platform's records when Prometheus scrapes. */
export function registerDomainGauges(metrics: ApiMetrics, db: Db): ApiMetrics {
  registerGauge(metrics, 'assets_by_status', 'Assets by status', 'status', async () => {
    const rows = (await db('assets').select('status').count('* as n').groupBy('status')) as Array<{ status: string; n: string }>;
    return rows.map((r) => ({ label: r.status, value: Number(r.n) }));
  });
  registerGauge(metrics, 'retention_policies_resting', 'Retention policies resting after repeated failures', 'entity', async () => {
    const rows = (await db('data_retention_policies')
      .select('entity')
      .count('* as n')
      .where('resting_until', '>', db.fn.now())
      .groupBy('entity')) as Array<{ entity: string; n: string }>;
    return rows.map((r) => ({ label: r.entity, value: Number(r.n) }));
  });
  registerReleaseMetrics(metrics, db);
  registerTelemetryMetrics(metrics, db);
  return metrics;
}
