// Every process of SPEC §6's fault suite, one scenario each.
import type { Scenario } from '../matrix/types';
import { assetConversion } from './assetConversion';
import { billingReconciliation } from './billingReconciliation';
import { paymentCapture } from './paymentCapture';
import { refund } from './refund';
import { releaseEvaluation } from './releaseEvaluation';
import { retentionRun } from './retentionRun';
import { telemetryExport } from './telemetryExport';
import { webhookDelivery } from './webhookDelivery';

export const SCENARIOS: Array<Scenario<any>> = [assetConversion, paymentCapture, refund, billingReconciliation, telemetryExport, releaseEvaluation, retentionRun, webhookDelivery];
