import { continueAsNew, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { TelemetryActivities } from '../activities/telemetry';
import { causeMessage } from './failures';
import {
  progressQuery,
  type Progress,
  type TelemetryExportInput, type TelemetryExportResult,
} from './telemetryExport.contract';

// Batches: claim, stream Postgres → gzip → S3, commit, the next one read while the last
// one uploads. A call claims no new batch after 30 s and a 1 M-event batch takes about
// 10 s; the activity heartbeats every 5 s, so a crashed worker is noticed after 20 s and
// its open batches are resumed (same keys) by the retry.
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

  // Runs started before this change export one batch per activity call.
  const severalPerCall = patched('several-batches-per-call');
  const exportSome = async (maxBatches: number) => {
    if (severalPerCall) return exporter.exportBatches({ batchSize: input.batchSize, maxBatches });
    const batch = await exporter.exportNextBatch(input.batchSize);
    return { batches: batch ? 1 : 0, events: batch?.count ?? 0, morePending: batch?.morePending ?? false };
  };

  let batchesThisRun = 0;
  let morePending = true;
  try {
    report('exporting', 0);
    while (morePending && batchesThisRun < input.maxBatchesPerRun) {
      const exported = await exportSome(input.maxBatchesPerRun - batchesThisRun);
      morePending = exported.morePending;
      if (exported.batches === 0) break;
      batchesThisRun += exported.batches;
      totals.batches += exported.batches;
      totals.events += exported.events;
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
