// releaseEvaluation's branches with mocked bookkeeping (SPEC §4.4, §6): the change window is a
// durable timer days away, which the test server skips while a test waits on the result.
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, WorkflowUpdateFailedError, WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { expect } from 'chai';
import type { ReleaseActivities, ReleaseStateSnapshot } from '../../../activities/releases';
import type { ChecklistGate, GateEvaluationRequest, ReleaseMetrics } from '../../../schemas/releases';
import type { releaseEvaluation } from '../../../workflows/releaseEvaluation';
import {
  evaluateGateUpdate,
  progressQuery,
  reevaluateUpdate,
  RELEASE_EVALUATION_WORKFLOW,
  releaseEvaluationWorkflowId,
  RELEASES_DOMAIN,
  type ReleaseEvaluationInput,
} from '../../../workflows/releaseEvaluation.contract';
import { waitFor } from '../../support/wait';
import { ActivityMocks, rejectionOf, unreachable, useWorkflowRunner } from '../../support/workflowEnv';

const DAY_MS = 24 * 3600 * 1000;
type Release = WorkflowHandle<typeof releaseEvaluation>;

const gate = (key: string, kind: ChecklistGate['kind'], required: boolean, criteria: ChecklistGate['criteria'] = []): ChecklistGate => ({
  key,
  title: key,
  kind,
  required,
  criteria,
  defaultOwners: [],
});

/** Two auto gates from metrics, a required manual gate and an optional one. */
const CHECKLIST: ChecklistGate[] = [
  gate('quality', 'auto', true, [
    { metric: 'coverage', comparison: 'atLeast', threshold: 0.8 },
    { metric: 'testFailureRate', comparison: 'atMost', threshold: 0.02 },
  ]),
  gate('security', 'auto', true, [{ metric: 'criticalVulnerabilities', comparison: 'atMost', threshold: 0 }]),
  gate('change', 'manual', true),
  gate('docs', 'manual', false),
];
const PASSING: ReleaseMetrics = { coverage: 0.9, testFailureRate: 0.01, criticalVulnerabilities: 0 };
const LOW_COVERAGE: ReleaseMetrics = { ...PASSING, coverage: 0.5 };

function releaseMocks(overrides: Partial<ReleaseActivities> = {}) {
  return new ActivityMocks<ReleaseActivities>({
    openRelease: async () => [],
    recordReleaseState: async () => undefined,
    closeRelease: async () => undefined,
    failRelease: async () => undefined,
    ...overrides,
  });
}

const evaluate = (handle: Release, request: Omit<GateEvaluationRequest, 'actor'>) =>
  handle.executeUpdate(evaluateGateUpdate, { args: [{ actor: 'reviewer-1', ...request }] });

/** The ApplicationFailure type an update was rejected with. */
async function rejectionType(update: Promise<unknown>): Promise<string | undefined> {
  const err = await rejectionOf(update);
  expect(err).to.be.instanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause;
  expect(cause).to.be.instanceOf(ApplicationFailure);
  return (cause as ApplicationFailure).type ?? undefined;
}

describe('releaseEvaluation workflow (mocked activities)', () => {
  const { env, run } = useWorkflowRunner<typeof releaseEvaluation>({
    type: RELEASE_EVALUATION_WORKFLOW,
    domain: RELEASES_DOMAIN,
    workflowId: (input) => releaseEvaluationWorkflowId(input.publicId),
  });

  /** A release whose change window starts `inMs` from the test server's now. */
  async function release(metrics: ReleaseMetrics | undefined, inMs = 2 * DAY_MS): Promise<ReleaseEvaluationInput> {
    const start = (await env().currentTimeMs()) + inMs;
    return {
      publicId: randomUUID(),
      version: '1.2.3',
      environment: 'production',
      changeWindowStart: new Date(start).toISOString(),
      changeWindowEnd: new Date(start + 3600_000).toISOString(),
      metrics,
      checklist: CHECKLIST,
    };
  }
  const snapshots = (mocks: ActivityMocks<ReleaseActivities>) => mocks.argsOf('recordReleaseState').map(([s]) => s as ReleaseStateSnapshot);
  /**
   * Runs a release and hands it to `body` once its opening write is done: an update delivered
   * with the start itself is handled before the run applies its input metrics, which then
   * override it (the API's updates come later).
   */
  const runOpened = <R>(input: ReleaseEvaluationInput, mocks: ActivityMocks<ReleaseActivities>, body: (handle: Release) => Promise<R>) =>
    run([input], mocks, async (handle) => {
      await waitFor('the opening write', async () => (snapshots(mocks).length > 0 ? true : undefined));
      return body(handle);
    });

  it('the run canceled while it waits for the window: the release is closed expired and the run ends Canceled', async () => {
    const input = await release(PASSING);
    const mocks = releaseMocks();
    const [err, progress] = await runOpened(input, mocks, async (handle) => {
      await handle.cancel();
      return [await rejectionOf(handle.result()), await handle.query(progressQuery)] as const;
    });
    expect((err as WorkflowFailedError).cause).to.be.instanceOf(CancelledFailure);
    expect(mocks.argsOf('closeRelease')).to.deep.equal([[input.publicId, 'expired']]);
    expect(mocks.names()).to.not.include('failRelease');
    expect(progress).to.deep.equal({ stage: 'expired', percent: 100, detail: 'the run was canceled' });
  });

  it('passing metrics and the manual gate passed before the window → approved when the window starts', async () => {
    const input = await release(PASSING);
    const mocks = releaseMocks();
    const [readiness, result] = await runOpened(input, mocks, async (handle) => [await evaluate(handle, { gateKey: 'change', status: 'pass' }), await handle.result()] as const);
    expect(readiness).to.deep.include({ status: 'ready', readinessScore: 100, blockingGates: [] });
    expect(result).to.deep.equal({ publicId: input.publicId, status: 'approved', readinessScore: 100 });
    expect(await env().currentTimeMs()).to.be.at.least(Date.parse(input.changeWindowStart));
    expect(mocks.argsOf('openRelease')).to.deep.equal([[input.publicId, { start: input.changeWindowStart, end: input.changeWindowEnd }]]);
    expect(mocks.argsOf('closeRelease')).to.deep.equal([[input.publicId, 'approved']]);
  });

  it('records the metrics’ auto evaluations first, then each update’s, numbered in order', async () => {
    const input = await release(PASSING);
    const mocks = releaseMocks();
    await runOpened(input, mocks, async (handle) => {
      await evaluate(handle, { gateKey: 'change', status: 'pass', notes: 'CAB approved' });
      return handle.result();
    });
    const [opening, update] = snapshots(mocks);
    expect(opening).to.include({ revision: 1, status: 'pending', readinessScore: 67 });
    expect(opening.evaluations.map((e) => [e.seq, e.gateKey, e.status, e.source, e.actor])).to.deep.equal([
      [1, 'quality', 'pass', 'auto', 'workflow'],
      [2, 'security', 'pass', 'auto', 'workflow'],
    ]);
    expect(update).to.include({ revision: 2, status: 'ready', readinessScore: 100 });
    expect(update.evaluations).to.deep.equal([
      { seq: 3, gateKey: 'change', status: 'pass', source: 'manual', metrics: null, notes: 'CAB approved', evidenceUrl: null, actor: 'reviewer-1' },
    ]);
  });

  it('a failing required gate blocks the release, which expires when the window starts', async () => {
    const input = await release(LOW_COVERAGE);
    const mocks = releaseMocks();
    const [readiness, progress, result] = await runOpened(input, mocks, async (handle) => {
      const answer = await evaluate(handle, { gateKey: 'change', status: 'pass' });
      return [answer, await handle.query(progressQuery), await handle.result()] as const;
    });
    expect(readiness).to.deep.include({ status: 'blocked', readinessScore: 67, blockingGates: ['quality'] });
    expect(progress).to.deep.equal({ stage: 'blocked', percent: 67, detail: 'blocked by quality' });
    expect(result).to.deep.equal({ publicId: input.publicId, status: 'expired', readinessScore: 67 });
    expect(snapshots(mocks)[0].evaluations[0]).to.include({ gateKey: 'quality', status: 'fail', notes: 'coverage 0.5 < 0.8' });
    expect(mocks.argsOf('closeRelease')).to.deep.equal([[input.publicId, 'expired']]);
  });

  it('fresh metrics through reevaluate unblock the auto gate; a waiver counts as passed', async () => {
    const input = await release(LOW_COVERAGE);
    const mocks = releaseMocks();
    const result = await runOpened(input, mocks, async (handle) => {
      const reevaluated = await handle.executeUpdate(reevaluateUpdate, { args: [{ actor: 'ci', metrics: PASSING }] });
      expect(reevaluated).to.deep.include({ status: 'pending', blockingGates: [] });
      await evaluate(handle, { gateKey: 'change', status: 'waived' });
      return handle.result();
    });
    expect(result).to.deep.equal({ publicId: input.publicId, status: 'approved', readinessScore: 100 });
    expect(snapshots(mocks)[1].evaluations.map((e) => [e.gateKey, e.status, e.source, e.actor])).to.deep.equal([
      ['quality', 'pass', 'auto', 'ci'],
      ['security', 'pass', 'auto', 'ci'],
    ]);
  });

  it('without metrics the auto gates stay pending and the release expires', async () => {
    const input = await release(undefined);
    const mocks = releaseMocks();
    const result = await runOpened(input, mocks, async (handle) => {
      await evaluate(handle, { gateKey: 'change', status: 'pass' });
      return handle.result();
    });
    expect(result).to.deep.equal({ publicId: input.publicId, status: 'expired', readinessScore: 33 });
    expect(snapshots(mocks)[0].evaluations).to.deep.equal([]);
  });

  it('a window that has already started closes the run at once', async () => {
    const input = await release(PASSING, -DAY_MS);
    const mocks = releaseMocks();
    expect(await run([input], mocks)).to.deep.equal({ publicId: input.publicId, status: 'expired', readinessScore: 67 });
    expect(mocks.names()).to.deep.equal(['openRelease', 'recordReleaseState', 'closeRelease']);
  });

  it('rejects invalid updates by type and records none of them', async () => {
    const input = await release(LOW_COVERAGE);
    const mocks = releaseMocks();
    const types = await runOpened(input, mocks, async (handle) => {
      const answers = [
        await rejectionType(evaluate(handle, { gateKey: 'rollback', status: 'pass' })),
        await rejectionType(evaluate(handle, { gateKey: 'change', status: 'pending' as 'pass' })),
        await rejectionType(evaluate(handle, { gateKey: 'quality', status: 'pass', metrics: LOW_COVERAGE })),
        await rejectionType(handle.executeUpdate(reevaluateUpdate, { args: [{ actor: 'ci', metrics: { openIncidents: 0 } }] })),
      ];
      await handle.result();
      return answers;
    });
    expect(types).to.deep.equal(['UnknownGate', 'InvalidEvaluation', 'MetricsContradictStatus', 'MetricsIncomplete']);
    expect(snapshots(mocks)).to.have.length(1);
  });

  it('an update whose recording keeps failing fails, and so does the run, recorded failed', async () => {
    const input = await release(PASSING);
    const mocks = releaseMocks({
      recordReleaseState: async (snapshot) => {
        if (snapshot.revision > 1) throw new Error('database unavailable');
      },
    });
    const [updateError, runError] = await runOpened(input, mocks, async (handle) => {
      const update = await handle.startUpdate(evaluateGateUpdate, {
        args: [{ actor: 'reviewer-1', gateKey: 'change', status: 'pass' }],
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      // Waiting on the result (not on the update) lets the server skip the retries' backoff.
      const result = await rejectionOf(handle.result());
      return [await rejectionOf(update.result()), result];
    });
    expect(updateError).to.be.instanceOf(WorkflowUpdateFailedError);
    expect(runError).to.be.instanceOf(WorkflowFailedError);
    expect(snapshots(mocks).filter((s) => s.revision === 2)).to.have.length(5);
    expect(mocks.argsOf('failRelease')).to.deep.equal([[input.publicId, 'recording the release failed after retries: database unavailable']]);
    expect(mocks.names()).to.not.include('closeRelease');
  });

  it('a release that cannot be opened is recorded failed and fails the run', async () => {
    const input = await release(PASSING);
    const mocks = releaseMocks({ openRelease: unreachable('database unavailable') });
    expect(await rejectionOf(run([input], mocks))).to.be.instanceOf(WorkflowFailedError);
    expect(mocks.argsOf('openRelease')).to.have.length(5);
    expect(mocks.argsOf('failRelease')).to.deep.equal([[input.publicId, 'recording the release failed after retries: database unavailable']]);
  });
});
