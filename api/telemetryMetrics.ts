// Telemetry metrics: what ingestion answered, and how far exports lag behind.
import client from 'prom-client';
import type { Db } from '../lib/db';
import type { ApiMetrics } from '../lib/metrics';
import type { IngestEventsResponse } from '../schemas/telemetry';
import { exportBacklog } from '../services/telemetry';

const INGESTION_COUNTER = 'telemetry_ingestion_events_total';

export function registerTelemetryMetrics(metrics: ApiMetrics, db: Db): void {
  // Counted by this API process: duplicates and rejected events are never stored, so no table could tell.
  new client.Counter({
    name: INGESTION_COUNTER,
    help: 'Telemetry events received, by outcome (accepted, suppressed, duplicate, rejected)',
    labelNames: ['status'] as const,
    registers: [metrics.registry],
  });
  new client.Gauge({
    name: 'telemetry_export_lag_seconds',
    help: 'Age of the oldest accepted telemetry event not exported yet (0 when none waits)',
    registers: [metrics.registry],
    async collect() {
      this.set((await exportBacklog(db)).lagSeconds);
    },
  });
}

/** Counts what ingestion answered, by outcome. */
export function countIngestion(metrics: ApiMetrics, outcome: IngestEventsResponse): void {
  const counts = { accepted: outcome.accepted, suppressed: outcome.suppressed, duplicate: outcome.duplicates, rejected: outcome.rejected.length };
  const counter = metrics.registry.getSingleMetric(INGESTION_COUNTER) as client.Counter<'status'> | undefined;
  for (const [status, n] of Object.entries(counts)) if (n > 0) counter?.inc({ status }, n);
}
