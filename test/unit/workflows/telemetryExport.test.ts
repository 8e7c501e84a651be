// telemetryExport's branches with a mocked exporter (SPEC §4.3, §6).
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { expect } from 'chai';
import type { TelemetryActivities } from '../../../activities/telemetry';
import type { ExportedBatches } from '../../../schemas/telemetry';
import type { telemetryExport } from '../../../workflows/telemetryExport';
import {
  manualTelemetryExportWorkflowId,
  progressQuery,
  TELEMETRY_DOMAIN,
  TELEMETRY_EXPORT_WORKFLOW,
  type TelemetryExportInput,
} from '../../../workflows/telemetryExport.contract';
import { ActivityMocks, rejectionOf, unreachable, useWorkflowRunner } from '../../support/workflowEnv';

const batches = (count: number, events: number, morePending: boolean): ExportedBatches => ({ batches: count, events, bytes: events * 40, morePending });

/** An exporter that answers `answers` in turn, one per call. */
function exporterAnswering(...answers: ExportedBatches[]) {
  let call = 0;
  return new ActivityMocks<TelemetryActivities>({
    exportBatches: async () => {
      const answer = answers[call++];
      if (!answer) throw new Error(`exportBatches called ${call} times, ${answers.length} expected`);
      return answer;
    },
    recordExportFailure: async () => undefined,
  });
}

describe('telemetryExport workflow (mocked activities)', function () {
  const { run } = useWorkflowRunner<typeof telemetryExport>({
    type: TELEMETRY_EXPORT_WORKFLOW,
    domain: TELEMETRY_DOMAIN,
    workflowId: () => manualTelemetryExportWorkflowId(randomUUID()),
  });
  const settings = (maxBatchesPerRun: number): TelemetryExportInput => ({ batchSize: 1000, maxBatchesPerRun });

  it('nothing pending: one call, nothing exported, one run', async () => {
    const mocks = exporterAnswering(batches(0, 0, false));
    const result = await run([settings(10)], mocks);
    expect(result).to.deep.equal({ batches: 0, events: 0, runs: 1 });
    expect(mocks.argsOf('exportBatches')).to.deep.equal([[{ batchSize: 1000, maxBatches: 10 }]]);
  });

  it('exports until nothing is pending, asking each call for what is left of the run’s budget', async () => {
    const mocks = exporterAnswering(batches(3, 3000, true), batches(2, 1500, false));
    const [result, progress] = await run([settings(10)], mocks, async (handle) => [await handle.result(), await handle.query(progressQuery)] as const);
    expect(result).to.deep.equal({ batches: 5, events: 4500, runs: 1 });
    expect(progress).to.deep.equal({ stage: 'completed', percent: 100, detail: '4500 events in 5 batches' });
    expect(mocks.argsOf('exportBatches')).to.deep.equal([[{ batchSize: 1000, maxBatches: 10 }], [{ batchSize: 1000, maxBatches: 7 }]]);
  });

  it('a budget used up exactly, with nothing left pending, completes without continuing as new', async () => {
    const mocks = exporterAnswering(batches(2, 20, false));
    expect(await run([settings(2)], mocks)).to.deep.equal({ batches: 2, events: 20, runs: 1 });
    expect(mocks.argsOf('exportBatches')).to.have.length(1);
  });

  it('a backlog beyond the run’s budget continues as new, carrying the totals', async () => {
    const mocks = exporterAnswering(batches(2, 2000, true), batches(1, 400, false));
    const result = await run([settings(2)], mocks);
    expect(result).to.deep.equal({ batches: 3, events: 2400, runs: 2 });
    expect(mocks.argsOf('exportBatches')).to.deep.equal([[{ batchSize: 1000, maxBatches: 2 }], [{ batchSize: 1000, maxBatches: 2 }]]);
  });

  it('adds to the totals a previous run carried over', async () => {
    const mocks = exporterAnswering(batches(1, 50, false));
    const result = await run([{ ...settings(4), carried: { batches: 7, events: 700, runs: 3 } }], mocks);
    expect(result).to.deep.equal({ batches: 8, events: 750, runs: 4 });
  });

  it('an export that keeps failing records the failure and fails the run', async () => {
    const mocks = new ActivityMocks<TelemetryActivities>({
      exportBatches: unreachable('S3 upload failed'),
      recordExportFailure: async () => undefined,
    });
    const err = await rejectionOf(run([settings(10)], mocks));
    expect(err).to.be.instanceOf(WorkflowFailedError);
    expect(mocks.argsOf('exportBatches')).to.have.length(5);
    expect(mocks.argsOf('recordExportFailure')).to.deep.equal([['export failed after retries: S3 upload failed']]);
  });
});
