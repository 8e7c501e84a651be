// Release readiness metrics, read from the platform's records when Prometheus scrapes.
import client from 'prom-client';
import type { Db } from '../lib/db';
import { registerGauge, type ApiMetrics } from '../lib/metrics';
import { RELEASE_STATUSES } from '../schemas/releases';
import { countEvaluationsByGateAndStatus, countReleasesByStatus, openReadinessScores } from '../services/releases';

export function registerReleaseMetrics(metrics: ApiMetrics, db: Db): void {
  // Open runs only: a closed run's score no longer changes, and its series would live forever.
  registerGauge(metrics, 'release_readiness_score', 'Readiness score (0-100) of open release runs', 'release', async () => {
    const rows = await openReadinessScores(db);
    return rows.map((r) => ({ label: `${r.environment}/${r.version}`, value: r.readinessScore }));
  });
  registerGauge(metrics, 'release_run_status', 'Release runs by status', 'status', async () => {
    const counts = await countReleasesByStatus(db);
    return RELEASE_STATUSES.map((status) => ({ label: status, value: counts[status] }));
  });
  // Counted from the evaluation history rather than in the API process: it then includes the
  // workflow's own auto-evaluations, survives restarts and agrees across API replicas (take max, not sum).
  new client.Counter({
    name: 'release_gate_evaluations_total',
    help: 'Gate evaluations recorded, by gate and status (manual and automatic)',
    labelNames: ['gate', 'status'] as const,
    registers: [metrics.registry],
    async collect() {
      const rows = await countEvaluationsByGateAndStatus(db);
      this.reset();
      for (const r of rows) this.inc({ gate: r.gateKey, status: r.status }, r.n);
    },
  });
}
