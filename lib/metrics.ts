import client from 'prom-client';

/** The API's Prometheus registry: HTTP histograms by route, workflow starts by type, domain gauges. */
export function createApiMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'edulure_api_' });
  const httpDuration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const workflowStarts = new client.Counter({
    name: 'workflow_starts_total',
    help: 'Workflow start requests answered with a run, by workflow type',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  return { registry, httpDuration, workflowStarts };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;

/** A gauge whose value is read from the database when Prometheus scrapes. */
export function registerGauge(
  metrics: ApiMetrics,
  name: string,
  help: string,
  labelName: string,
  read: () => Promise<Array<{ label: string; value: number }>>,
): void {
  new client.Gauge({
    name,
    help,
    labelNames: [labelName],
    registers: [metrics.registry],
    async collect() {
      this.reset();
      for (const row of await read()) this.set({ [labelName]: row.label }, row.value);
    },
  });
}
