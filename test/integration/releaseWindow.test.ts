import { expect } from 'chai';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { ReleaseRun } from '../../db/models/ReleaseRun';
import { createOrFindRelease } from '../../services/releases';
import { releaseChecklist } from '../../lib/releaseChecklist';
import type { GateEvaluationRequest, ReleaseMetrics } from '../../schemas/releases';
import { taskQueueWorkers } from '../../workers/taskQueues';
import {
  evaluateGateUpdate,
  progressQuery,
  RELEASE_EVALUATION_WORKFLOW,
  RELEASES_TASK_QUEUE,
} from '../../workflows/releaseEvaluation.contract';
import { DAY_MS, FAILING_METRICS, PASSING_METRICS, releaseBody } from '../support/releases';
import { shared, workflowBundle } from '../support/shared';
import { createTimeSkippingEnv } from '../support/timeSkipping';

describe('releaseEvaluation closes at its change window start (time-skipping server)', () => {
  let env: TestWorkflowEnvironment;

  before(async () => {
    env = await createTimeSkippingEnv();
  });

  after(async () => {
    await env?.teardown();
  });

  async function timeSkippingWorker(): Promise<Worker> {
    const { config, db, providers } = shared();
    const entry = taskQueueWorkers(config, db, providers).find((w) => w.taskQueue === RELEASES_TASK_QUEUE);
    return Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue: RELEASES_TASK_QUEUE,
      workflowBundle: await workflowBundle(),
      activities: entry?.activities,
    });
  }

  /** A run recorded in Postgres as the API records it, its window two days away, started on the test server. */
  async function startRun(metrics: ReleaseMetrics) {
    const { config, db } = shared();
    const run = await createOrFindRelease(db, releaseBody(2 * DAY_MS, { metrics }), releaseChecklist(config), 'window-test');
    const handle = await env.client.workflow.start(RELEASE_EVALUATION_WORKFLOW, {
      workflowId: run.workflowId,
      taskQueue: RELEASES_TASK_QUEUE,
      args: [run.workflowInput()],
    });
    return { run, handle };
  }

  const passGate = (gateKey: string) => ({ args: [{ gateKey, status: 'pass', actor: 'window-test' }] as [GateEvaluationRequest] });

  it('the window starts while the run is ready → approved', async () => {
    const { run, handle } = await startRun(PASSING_METRICS);
    const worker = await timeSkippingWorker();
    const result = await worker.runUntil(async () => {
      await handle.executeUpdate(evaluateGateUpdate, passGate('compliance'));
      const readiness = await handle.executeUpdate(evaluateGateUpdate, passGate('change'));
      expect(readiness).to.include({ status: 'ready', readinessScore: 100 });
      expect(await handle.query(progressQuery)).to.include({ stage: 'ready', percent: 100 });
      return handle.result();
    });
    expect(result).to.deep.equal({ publicId: run.publicId, status: 'approved', readinessScore: 100 });
    expect(await env.currentTimeMs()).to.be.at.least(run.changeWindowStart.getTime());
    const record = await ReleaseRun.query(shared().db).findById(run.publicId);
    expect(record).to.include({ status: 'approved', readinessScore: 100 });
    expect(record?.closedAt).to.be.instanceOf(Date);
  });

  it('the window starts while the run is blocked → expired', async () => {
    const { run, handle } = await startRun(FAILING_METRICS);
    const worker = await timeSkippingWorker();
    const result = await worker.runUntil(async () => {
      const readiness = await handle.executeUpdate(evaluateGateUpdate, passGate('change'));
      expect(readiness).to.include({ status: 'blocked' });
      expect(readiness.blockingGates).to.deep.equal(['quality', 'security']);
      return handle.result();
    });
    expect(result).to.deep.equal({ publicId: run.publicId, status: 'expired', readinessScore: 40 });
    const record = await ReleaseRun.query(shared().db).findById(run.publicId);
    expect(record?.status).to.equal('expired');
    expect(record?.closedAt).to.be.instanceOf(Date);
  });
});
