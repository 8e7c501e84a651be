import { continueAsNew, proxyActivities, setHandler } from '@temporalio/workflow';
import type { TelemetryActivities } from '../activities/telemetry';
import { causeMessage } from './failures';
import {
  progressQuery,
  type Progress,
  type TelemetryExportInput, type TelemetryExportResult,
} from './telemetryExport.contract';

// One batch: claim, stream Postgres → gzip → S3, commit. A batch of 5000 events takes
// seconds; the activity heartbeats every 5 s, so a crashed worker is noticed after 20 s
// and the batch is resumed (same key) by the retry.
const exporter = proxyActivities<TelemetryActivities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

// Recording a failure is one small write; five attempts over ~15 s ride out a database restart.
const bookkeeping = proxyActivities<TelemetryActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

export async function telemetryExport(input: TelemetryExportInput): Promise<TelemetryExportResult> {
  let progress: Progress = { stage: 'queued', percent: 0, detail: null };
  setHandler(progressQuery, () => progress);

  const carried = input.carried ?? { batches: 0, events: 0, runs: 0 };
  const totals = { batches: carried.batches, events: carried.events, runs: carried.runs + 1 };
  const report = (stage: string, batchesThisRun: number) => {
    const percent = Math.round((100 * batchesThisRun) / input.maxBatchesPerRun);
    progress = { stage, percent, detail: `${totals.events} events in ${totals.batches} batches` };
  };

  let batchesThisRun = 0;
  let morePending = true;
  try {
    report('exporting', 0);
    while (morePending && batchesThisRun < input.maxBatchesPerRun) {
      const batch = await exporter.exportNextBatch(input.batchSize);
      morePending = batch?.morePending ?? false;
      if (!batch) break;
      batchesThisRun += 1;
      totals.batches += 1;
      totals.events += batch.count;
      report('exporting', batchesThisRun);
    }
  } catch (err) {
    const reason = `export failed after retries: ${causeMessage(err)}`;
    progress = { stage: 'failed', percent: 100, detail: reason };
    await bookkeeping.recordExportFailure(reason);
    throw err;
  }
  if (morePending) {
    // A long backlog: a fresh run keeps the history short.
    report('continuing', batchesThisRun);
    await continueAsNew<typeof telemetryExport>({ ...input, carried: totals });
  }
  progress = { stage: 'completed', percent: 100, detail: `${totals.events} events in ${totals.batches} batches` };
  return totals;
}
