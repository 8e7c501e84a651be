// Every workflow type the worker registers. Workflows only orchestrate: no I/O here.
export { assetConversion } from './assetConversion';
export { assetDeletion } from './assetDeletion';
export { billingReconciliation } from './billingReconciliation';
export { paymentCapture } from './paymentCapture';
export { refund } from './refund';
export { retentionRun } from './retentionRun';
export { releaseEvaluation } from './releaseEvaluation';
export { telemetryExport } from './telemetryExport';
export { webhookDelivery } from './webhookDelivery';
