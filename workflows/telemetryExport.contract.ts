// Shared by the API, the schedule and the workflow: how to find and start a telemetry export.
import type { ExportedBatch, TelemetryExportInput, TelemetryExportResult } from '../schemas/telemetry';

export type { ExportedBatch, TelemetryExportInput, TelemetryExportResult };
export { progressQuery, type Progress } from './progress';

export const TELEMETRY_EXPORT_WORKFLOW = 'telemetryExport';
export const TELEMETRY_TASK_QUEUE = 'telemetry';
export const TELEMETRY_DOMAIN = 'telemetry';
export const TELEMETRY_EXPORT_SCHEDULE_ID = 'telemetry-export';

/** Manual runs; scheduled runs carry the IDs Temporal gives them (`telemetry-export-<timestamp>`). */
export const manualTelemetryExportWorkflowId = (uuid: string): string => `telemetry-export:manual-${uuid}`;

/** A run's settings, taken from the configuration of whoever starts it (the API or the schedule). */
export const telemetryExportInput = (settings: {
  TELEMETRY_EXPORT_BATCH_SIZE: number;
  TELEMETRY_EXPORT_MAX_BATCHES_PER_RUN: number;
}): TelemetryExportInput => ({
  batchSize: settings.TELEMETRY_EXPORT_BATCH_SIZE,
  maxBatchesPerRun: settings.TELEMETRY_EXPORT_MAX_BATCHES_PER_RUN,
});
