import { randomUUID } from 'node:crypto';
import { BILLING_RECONCILIATION_WORKFLOW, PAYMENTS_TASK_QUEUE, type ReconciliationResult } from '../../../workflows/billingReconciliation.contract';
import { shared, temporalClient } from '../../support/shared';
import { waitFor } from '../../support/wait';
import type { Scenario } from '../matrix/types';
import { settledResult, times, type RunRef } from './runs';

const LIST_CALLS = /^\/v1\/(charges|refunds)(\?|$)/;

/** Runs started as the hourly schedule would, all at once over the same window: they must agree. */
export const billingReconciliation: Scenario<RunRef[]> = {
  process: 'billing reconciliation',
  stripeCalls: [
    { method: 'GET', path: /^\/v1\/charges(\?|$)/ },
    { method: 'GET', path: /^\/v1\/refunds(\?|$)/ },
  ],
  async start(ctx) {
    const client = await temporalClient();
    const runs = await times(ctx.runs, async () => {
      const handle = await client.workflow.start(BILLING_RECONCILIATION_WORKFLOW, {
        taskQueue: PAYMENTS_TASK_QUEUE,
        workflowId: `reconciliation-chaos-${randomUUID()}`,
      });
      return { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
    });
    await waitFor('a reconciliation to page through Stripe', async () => (ctx.proxy.matching('GET', LIST_CALLS).length > 0 ? true : undefined));
    return runs;
  },
  runsOf: (runs) => runs,
  async settle(_ctx, runs, checks) {
    const results: ReconciliationResult[] = [];
    for (const run of runs) results.push(await settledResult<ReconciliationResult>(run));
    checks.that(results[0].chargesSeen > 0, 'stripe-mock lists charges');
    checks.equal(new Set(results.map((r) => JSON.stringify(r))).size, 1, `concurrent runs over one window agree: ${JSON.stringify(results)}`);
    const db = shared().db;
    const recorded = (await db('reconciliation_anomalies').whereIn('lastRunId', runs.map((r) => r.runId ?? ''))) as Array<{ kind: string; reference: string }>;
    checks.that(recorded.length > 0 && recorded.length <= results[0].anomalies, `the anomalies recorded under these runs (${recorded.length}) are what they found (${results[0].anomalies})`);
    const doubled = await db('reconciliation_anomalies').select('kind', 'reference').groupBy('kind', 'reference').havingRaw('count(*) > 1');
    checks.equal(doubled, [], 'no anomaly recorded twice');
  },
};
