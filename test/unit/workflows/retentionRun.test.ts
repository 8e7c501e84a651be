// retentionRun's branches with mocked bookkeeping and batches (SPEC §4.5, §6).
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { expect } from 'chai';
import type { PlannedPolicy, PolicyCounts, RetentionActivities } from '../../../activities/retention';
import type { retentionRun } from '../../../workflows/retentionRun';
import {
  progressQuery,
  RETENTION_DOMAIN,
  RETENTION_POLICY_FAILED,
  RETENTION_RUN_WORKFLOW,
  retentionRunWorkflowId,
  type RetentionRunInput,
} from '../../../workflows/retentionRun.contract';
import { ActivityMocks, rejectionOf, unreachable, useWorkflowRunner } from '../../support/workflowEnv';

const policy = (entity: string, status: PlannedPolicy['status'] = 'pending'): PlannedPolicy => ({ policyId: randomUUID(), entity, status });

/**
 * Bookkeeping that plans `plan`, and batches answering per policy id: the counts of each call in
 * turn (the last with `done`). `finishRetentionPolicy` answers the policy's totals.
 */
function retentionMocks(plan: PlannedPolicy[], batchesOf: Record<string, PolicyCounts[]>, overrides: Partial<RetentionActivities> = {}) {
  const calls = new Map<string, number>();
  return new ActivityMocks<RetentionActivities>({
    openRetentionRun: async () => plan,
    applyRetentionPolicy: async ({ policyId }) => {
      const call = calls.get(policyId) ?? 0;
      calls.set(policyId, call + 1);
      const counts = batchesOf[policyId]?.[call];
      if (!counts) throw ApplicationFailure.nonRetryable(`unexpected batch call ${call + 1} for ${policyId}`);
      return counts;
    },
    finishRetentionPolicy: async ({ policyId }) => {
      const all = batchesOf[policyId] ?? [];
      return { done: true, matched: all.reduce((n, c) => n + c.matched, 0), affected: all.reduce((n, c) => n + c.affected, 0) };
    },
    failRetentionPolicy: async () => undefined,
    closeRetentionRun: async () => undefined,
    ...overrides,
  });
}

describe('retentionRun workflow (mocked activities)', function () {
  const { env, run } = useWorkflowRunner<typeof retentionRun>({
    type: RETENTION_RUN_WORKFLOW,
    domain: RETENTION_DOMAIN,
    workflowId: (input) => retentionRunWorkflowId(input.retentionRunId ?? randomUUID()),
  });
  const apiRun = (dryRun: boolean): RetentionRunInput => ({
    retentionRunId: randomUUID(),
    dryRun,
    asOf: '2026-06-01T00:00:00.000Z',
    trigger: 'api',
    requestedBy: 'admin-1',
  });

  for (const dryRun of [true, false]) {
    it(`${dryRun ? 'a dry run' : 'a live run'} opens its run as such, applies each policy in batches and completes`, async () => {
      const input = apiRun(dryRun);
      const [sessions, uploads] = [policy('sessions'), policy('uploads')];
      const mocks = retentionMocks([sessions, uploads], {
        [sessions.policyId]: [{ done: false, matched: 100, affected: dryRun ? 0 : 100 }, { done: true, matched: 20, affected: dryRun ? 0 : 20 }],
        [uploads.policyId]: [{ done: true, matched: 3, affected: dryRun ? 0 : 3 }],
      });
      const result = await run([input], mocks);
      expect(result).to.deep.equal({
        retentionRunId: input.retentionRunId,
        status: 'completed',
        policies: [
          { policyId: sessions.policyId, status: 'completed', matched: 120, affected: dryRun ? 0 : 120 },
          { policyId: uploads.policyId, status: 'completed', matched: 3, affected: dryRun ? 0 : 3 },
        ],
      });
      const [[opened]] = mocks.argsOf('openRetentionRun') as [[{ dryRun: boolean; asOf: string; workflowId: string }]];
      expect(opened).to.include({ dryRun, asOf: input.asOf, workflowId: retentionRunWorkflowId(input.retentionRunId!) });
      expect(mocks.argsOf('applyRetentionPolicy')).to.have.length(3);
      expect(mocks.argsOf('closeRetentionRun')).to.deep.equal([[{ retentionRunId: input.retentionRunId, status: 'completed' }]]);
    });
  }

  it('a scheduled run mints its id and measures from its start time', async () => {
    const input: RetentionRunInput = { dryRun: false, trigger: 'schedule' };
    const mocks = retentionMocks([], {});
    const before = await env().currentTimeMs();
    const result = await run([input], mocks);
    const [[opened]] = mocks.argsOf('openRetentionRun') as [[{ retentionRunId: string; asOf: string; trigger: string }]];
    expect(opened.retentionRunId).to.match(/^[0-9a-f-]{36}$/);
    expect(Date.parse(opened.asOf)).to.be.at.least(before - 1000);
    expect(opened.trigger).to.equal('schedule');
    expect(result).to.deep.equal({ retentionRunId: opened.retentionRunId, status: 'completed', policies: [] });
  });

  it('skips policies a previous run already settled and shows progress over the whole plan', async () => {
    const [done, pending] = [policy('sessions', 'completed'), policy('uploads')];
    const mocks = retentionMocks([done, pending], { [pending.policyId]: [{ done: true, matched: 1, affected: 1 }] });
    const [result, progress] = await run([apiRun(false)], mocks, async (handle) => [await handle.result(), await handle.query(progressQuery)] as const);
    expect(result.policies.map((p) => p.policyId)).to.deep.equal([pending.policyId]);
    expect(mocks.argsOf('applyRetentionPolicy')).to.deep.equal([[{ retentionRunId: result.retentionRunId, policyId: pending.policyId }]]);
    expect(progress).to.deep.equal({ stage: 'completed', percent: 100, detail: null });
  });

  it('with encrypted payloads the run’s failure message names the failed entities, their errors only in its details', async () => {
    const input = { ...apiRun(false), encryptedHistory: true };
    const broken = policy('uploads');
    const mocks = retentionMocks([broken], {}, {
      applyRetentionPolicy: async () => {
        throw new Error('relation "uploads" violates constraint on key (customer_id)=(cus_1)');
      },
    });
    const cause = ((await rejectionOf(run([input], mocks))) as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).to.equal(RETENTION_POLICY_FAILED);
    expect(cause.message).to.equal('retention policies failed: uploads');
    expect(cause.details).to.deep.equal([['uploads: relation "uploads" violates constraint on key (customer_id)=(cus_1)']]);
  });

  it('a policy failing after its retries is recorded, the others still run, and the run fails', async () => {
    const input = apiRun(false);
    const [broken, fine] = [policy('uploads'), policy('sessions')];
    const mocks = retentionMocks([broken, fine], { [fine.policyId]: [{ done: true, matched: 2, affected: 2 }] }, {
      applyRetentionPolicy: async ({ policyId }) => {
        if (policyId === broken.policyId) throw new Error('bucket unreachable');
        return { done: true, matched: 2, affected: 2 };
      },
    });
    const err = await rejectionOf(run([input], mocks));
    expect(err).to.be.instanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).to.be.instanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).to.equal(RETENTION_POLICY_FAILED);
    expect(cause?.message).to.equal('retention policies failed: uploads: bucket unreachable');
    expect(mocks.argsOf('applyRetentionPolicy').filter(([ref]) => (ref as { policyId: string }).policyId === broken.policyId)).to.have.length(5);
    expect(mocks.argsOf('failRetentionPolicy')).to.deep.equal([
      [{ retentionRunId: input.retentionRunId, policyId: broken.policyId, error: 'bucket unreachable' }],
    ]);
    expect(mocks.argsOf('finishRetentionPolicy')).to.have.length(1);
    // Closed failed by the run, then again by its catch-all (a no-op on the record by then).
    const closes = mocks.argsOf('closeRetentionRun');
    expect(closes).to.not.be.empty;
    for (const args of closes) expect(args).to.deep.equal([{ retentionRunId: input.retentionRunId, status: 'failed' }]);
  });

  it('a run that cannot even open closes its record failed and fails', async () => {
    const input = apiRun(false);
    const mocks = retentionMocks([], {}, { openRetentionRun: unreachable('database unavailable') });
    expect(await rejectionOf(run([input], mocks))).to.be.instanceOf(WorkflowFailedError);
    expect(mocks.argsOf('openRetentionRun')).to.have.length(5);
    expect(mocks.argsOf('closeRetentionRun')).to.deep.equal([[{ retentionRunId: input.retentionRunId, status: 'failed' }]]);
  });

  it('the run canceled between batches: closed canceled (the counts so far stay committed) and ends Canceled', async () => {
    const input = apiRun(false);
    const sessions = policy('sessions');
    let batchStarted = () => {};
    let batchEnds = () => {};
    const inBatch = new Promise<void>((resolve) => (batchStarted = resolve));
    const ended = new Promise<void>((resolve) => (batchEnds = resolve));
    const mocks = retentionMocks([sessions], {}, {
      applyRetentionPolicy: async () => {
        batchStarted();
        await ended;
        return { done: false, matched: 3, affected: 3 };
      },
    });
    const err = await run([input], mocks, async (handle) => {
      try {
        await inBatch;
        await handle.cancel();
        return await rejectionOf(handle.result());
      } finally {
        batchEnds();
      }
    });
    expect((err as WorkflowFailedError).cause).to.be.instanceOf(CancelledFailure);
    expect(mocks.argsOf('closeRetentionRun')).to.deep.equal([[{ retentionRunId: input.retentionRunId, status: 'canceled' }]]);
    expect(mocks.names()).to.not.include('finishRetentionPolicy');
  });
});
