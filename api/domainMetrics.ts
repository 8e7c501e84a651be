import type { Db } from '../lib/db';
import { registerGauge, type ApiMetrics } from '../lib/metrics';

/** Gauges read from the platform's records when Prometheus scrapes. */
export function registerDomainGauges(metrics: ApiMetrics, db: Db): ApiMetrics {
  registerGauge(metrics, 'assets_by_status', 'Assets by status', 'status', async () => {
    const rows = (await db('assets').select('status').count('* as n').groupBy('status')) as Array<{ status: string; n: string }>;
    return rows.map((r) => ({ label: r.status, value: Number(r.n) }));
  });
  return metrics;
}
