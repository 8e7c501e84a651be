// Release readiness metrics, read from the platform's records when Prometheus scrapes.
import client from 'prom-client';
import type { Db } from '../lib/db';
import { registerGauge, type ApiMetrics } from '../lib/metrics';
import { OPEN_RELEASE_STATUSES, RELEASE_STATUSES } from '../schemas/releases';

export function registerReleaseMetrics(metrics: ApiMetrics, db: Db): void {
  // Open runs only: a closed run's score no longer changes, and its series would live forever.
  registerGauge(metrics, 'release_readiness_score', 'Readiness score (0-100) of open release runs', 'release', async () => {
    const rows = (await db('release_runs')
      .select('environment', 'version', 'readiness_score')
      .whereIn('status', OPEN_RELEASE_STATUSES)) as Array<{ environment: string; version: string; readinessScore: number }>;
    return rows.map((r) => ({ label: `${r.environment}/${r.version}`, value: r.readinessScore }));
  });
  registerGauge(metrics, 'release_run_status', 'Release runs by status', 'status', async () => {
    const rows = (await db('release_runs').select('status').count('* as n').groupBy('status')) as Array<{ status: string; n: string }>;
    return RELEASE_STATUSES.map((status) => ({ label: status, value: Number(rows.find((r) => r.status === status)?.n ?? 0) }));
  });
  // Counted from the evaluation history rather than in the API process: it then includes the
  // workflow's own auto-evaluations, survives restarts and agrees across API replicas (take max, not sum).
  new client.Counter({
    name: 'release_gate_evaluations_total',
    help: 'Gate evaluations recorded, by gate and status (manual and automatic)',
    labelNames: ['gate', 'status'] as const,
    registers: [metrics.registry],
    async collect() {
      const rows = (await db('release_gate_evaluations')
        .select('gate_key', 'status')
        .count('* as n')
        .groupBy('gate_key', 'status')) as Array<{ gateKey: string; status: string; n: string }>;
      this.reset();
      for (const r of rows) this.inc({ gate: r.gateKey, status: r.status }, Number(r.n));
    },
  });
}
