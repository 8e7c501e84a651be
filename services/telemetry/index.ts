// The telemetry domain: ingestion, the consent ledger, the export claim/commit protocol and
// its locks, freshness. Called by the API's routes and by the export activities; no Koa, no Temporal.
export { recordConsent } from './consents';
export { batchLines, exportForCall, exportPendingBatches, type CommittedBatch, type EventRange, type TelemetryExportDeps } from './exporter';
export { INGESTION_LOCK_KEY, recordExportFailure, type ExportingRun, type TelemetryExportSettings } from './exportProtocol';
export { ingestEvents, type IngestionSettings } from './ingestion';
export { exportBacklog, freshness, listExports, type ExportBacklog, type FreshnessThresholds } from './status';
