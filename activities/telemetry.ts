// Activities of the telemetry export: thin over services/telemetry (the claim/commit protocol
// that makes every event exported exactly once lives there), heartbeating while they work.
// Their names, arguments and results are recorded in histories.
import type { ExportedBatch, ExportedBatches } from '../schemas/telemetry';
import { exportForCall, exportPendingBatches, recordExportFailure, type TelemetryExportDeps } from '../services/telemetry';
import { TELEMETRY_EXPORT_WORKFLOW } from '../workflows/telemetryExport.contract';
import { currentCall, currentRun, failingRun, whileHeartbeating } from './context';
import { failingPermanently } from './permanentFailures';

export type { TelemetryExportSettings } from '../services/telemetry';
export type TelemetryActivityDeps = TelemetryExportDeps;

export function createTelemetryActivities(deps: TelemetryActivityDeps) {
  /** Exports up to `maxBatches` batches (open ones first) for the current run, heartbeating meanwhile. */
  function exportUpTo(batchSize: number, maxBatches: number) {
    const run = { job: TELEMETRY_EXPORT_WORKFLOW, ...currentRun() };
    return whileHeartbeating(() => failingPermanently(() => exportPendingBatches(deps, run, batchSize, maxBatches)));
  }

  /**
   * Exports up to `maxBatches` batches (resuming interrupted ones first) and reports the totals of this
   * call, including batches an earlier attempt committed before it failed.
   */
  async function exportBatches(input: { batchSize: number; maxBatches: number }): Promise<ExportedBatches> {
    const { activityId, attempt } = currentCall();
    const run = { job: TELEMETRY_EXPORT_WORKFLOW, ...currentRun(), activityId };
    const { committed, morePending } = await whileHeartbeating(() =>
      failingPermanently(() => exportForCall(deps, run, { ...input, retried: attempt > 1 })),
    );
    return {
      batches: committed.length,
      events: committed.reduce((sum, b) => sum + b.count, 0),
      bytes: committed.reduce((sum, b) => sum + b.bytes, 0),
      morePending,
    };
  }

  /** One batch per call: what runs started before the 'several-batches-per-call' patch still schedule. */
  async function exportNextBatch(batchSize: number): Promise<ExportedBatch | null> {
    const { committed, morePending } = await exportUpTo(batchSize, 1);
    return committed[0] ? { ...committed[0], morePending } : null;
  }

  return {
    exportBatches,
    exportNextBatch,
    recordExportFailure: (reason: string): Promise<void> => recordExportFailure(deps.db, reason, failingRun(reason)),
  };
}

export type TelemetryActivities = ReturnType<typeof createTelemetryActivities>;
