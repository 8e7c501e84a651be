import { randomUUID } from 'node:crypto';
import { RetentionRunPolicy } from '../../../db/models/Retention';
import { retentionRunWorkflowId } from '../../../workflows/retentionRun.contract';
import { aroundCutoff, insertAsset, insertEventsBefore, insertIngestionEvents, startRetentionRun } from '../../support/retention';
import { shared } from '../../support/shared';
import { waitFor } from '../../support/wait';
import type { Scenario } from '../matrix/types';
import { settledResult, times } from './runs';

const BATCH_SIZE = 50;
const EXPIRED = 4000;
const DAYS = 30;

interface Retaining {
  retentionRunId: string;
  policyId: string;
  step: string;
  kept: string[];
}

type RetentionResult = { status: string; policies: Array<{ policyId: string; status: string; matched: number; affected: number }> };

/** Runs of a hard-delete policy each over rows of their own, in small batches so the fault lands between them. */
export const retentionRun: Scenario<Retaining[]> = {
  process: 'retention run',
  stripeCalls: [],
  workerEnv: { DATA_RETENTION_BATCH_SIZE: String(BATCH_SIZE) },
  async start(ctx) {
    const { db } = shared();
    const runs = await times(ctx.runs, async () => {
      const step = `chaos-${randomUUID().slice(0, 8)}`;
      const asOf = new Date(Date.now() - 60_000);
      const { cutoff, atCutoff, inside } = aroundCutoff(asOf, DAYS);
      const asset = await insertAsset(db, { ownerId: step, status: 'ready', createdAt: new Date() });
      await insertEventsBefore(db, asset.id, step, cutoff, EXPIRED);
      const kept = await insertIngestionEvents(db, asset.id, step, [atCutoff, inside, new Date()]);
      const [policy] = (await db('data_retention_policies')
        .insert({ id: randomUUID(), entity: 'asset_ingestion_events', action: 'hard-delete', retentionDays: DAYS, criteria: { step } })
        .returning('id')) as Array<{ id: string }>;
      const retentionRunId = randomUUID();
      await startRetentionRun({ retentionRunId, dryRun: false, policyIds: [policy.id], asOf: asOf.toISOString() });
      return { retentionRunId, policyId: policy.id, step, kept };
    });
    await waitFor('every run to have deleted a batch', async () => {
      const states = await Promise.all(runs.map((r) => RetentionRunPolicy.query(db).findById([r.retentionRunId, r.policyId])));
      return states.every((s) => Number(s?.affected ?? 0) > 0) || undefined;
    });
    return runs;
  },
  runsOf: (runs) => runs.map((r) => ({ workflowId: retentionRunWorkflowId(r.retentionRunId) })),
  async settle(_ctx, runs, checks) {
    const { db } = shared();
    for (const { retentionRunId, policyId, step, kept } of runs) {
      const result = await settledResult<RetentionResult>({ workflowId: retentionRunWorkflowId(retentionRunId) });
      checks.equal(result.status, 'completed', `retention run ${retentionRunId}`);
      checks.equal(result.policies, [{ policyId, status: 'completed', matched: EXPIRED, affected: EXPIRED }], `counts of ${retentionRunId} exact`);
      checks.equal((await db('retention_runs').where('id', retentionRunId).first()).status, result.status, `run ${retentionRunId} row agrees with its run`);
      const remaining = (await db('asset_ingestion_events').where('step', step).orderBy('id')).map((r: { id: string | number }) => String(r.id));
      checks.equal(remaining, kept, `every expired row of ${retentionRunId} deleted, nothing inside the window`);
      const audit = (await db('data_retention_audit_logs').where({ retentionRunId })) as Array<{ matched: string; affected: string }>;
      checks.equal(audit.map((a) => [Number(a.matched), Number(a.affected)]), [[EXPIRED, EXPIRED]], `one audit row of ${retentionRunId} with exact counts`);
    }
  },
};
