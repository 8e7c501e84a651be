import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { RetentionRunPolicy } from '../../db/models/Retention';
import { aroundCutoff, insertAsset, insertEventsBefore, insertIngestionEvents, startRetentionRun } from '../support/retention';
import { shared } from '../support/shared';
import { killHard, startWorkerProcess } from '../support/workerProcess';
import { waitFor } from '../support/wait';

const BATCH_SIZE = 50;
const EXPIRED = 20000;
/** Small batches, so the kill lands between many of them. */
const WORKER_ENV = { DATA_RETENTION_BATCH_SIZE: String(BATCH_SIZE) };

describe('chaos: SIGKILL the worker in the middle of a retention run (SPEC §6)', () => {
  const workers: ChildProcess[] = [];
  afterEach(async () => {
    for (const w of workers.splice(0)) await killHard(w);
  });

  it('a new worker finishes the run: every expired row deleted once, counts exact, nothing inside the window touched', async () => {
    const { db } = shared();
    const step = `crash-${randomUUID().slice(0, 8)}`;
    const asOf = new Date(Date.now() - 60_000);
    const { cutoff, atCutoff, inside } = aroundCutoff(asOf, 30);
    const asset = await insertAsset(db, { ownerId: step, status: 'ready', createdAt: new Date() });
    await insertEventsBefore(db, asset.id, step, cutoff, EXPIRED);
    const kept = await insertIngestionEvents(db, asset.id, step, [atCutoff, inside, new Date()]);
    const [policy] = (await db('data_retention_policies')
      .insert({ id: randomUUID(), entity: 'asset_ingestion_events', action: 'hard-delete', retentionDays: 30, criteria: { step } })
      .returning('id')) as Array<{ id: string }>;

    const retentionRunId = randomUUID();
    const handle = await startRetentionRun({ retentionRunId, dryRun: false, policyIds: [policy.id], asOf: asOf.toISOString() });
    const first = startWorkerProcess(WORKER_ENV);
    workers.push(first);
    const state = () => RetentionRunPolicy.query(db).findById([retentionRunId, policy.id]);
    await waitFor('a few batches to commit', async () => ((await state())?.affected ?? 0) >= 5 * BATCH_SIZE || undefined);
    await killHard(first);
    const atKill = await state();
    expect(Number(atKill?.affected), 'the worker must die mid-run').to.be.below(EXPIRED);
    expect(atKill?.status).to.equal('pending');

    workers.push(startWorkerProcess(WORKER_ENV));
    const result = await handle.result();
    expect(result.status).to.equal('completed');
    expect(result.policies).to.deep.equal([{ policyId: policy.id, status: 'completed', matched: EXPIRED, affected: EXPIRED }]);

    const remaining = (await db('asset_ingestion_events').where('step', step).orderBy('id')).map((r) => String(r.id));
    expect(remaining).to.deep.equal(kept);
    const audit = await db('data_retention_audit_logs').where({ retentionRunId });
    expect(audit).to.have.length(1);
    expect(audit[0]).to.include({ matched: String(EXPIRED), affected: String(EXPIRED), policyId: policy.id });
    expect(audit[0].sampleIds).to.have.length(10);
    expect((await db('retention_runs').where('id', retentionRunId).first()).status).to.equal('completed');
  });
});
