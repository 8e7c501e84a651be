// The typed client of manual telemetry exports (the schedule starts the regular ones: lib/schedules.ts).
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Run } from '../../schemas/common';
import type { TemporalSettings } from '../temporal';
import type { telemetryExport } from '../../workflows/telemetryExport';
import {
  manualTelemetryExportWorkflowId,
  TELEMETRY_DOMAIN,
  TELEMETRY_EXPORT_WORKFLOW,
  TELEMETRY_TASK_QUEUE,
  type TelemetryExportInput,
} from '../../workflows/telemetryExport.contract';
import { startOrGetRun } from './calls';

/** Starts an export now, under an ID of its own: it exports exactly what the schedule would. */
export function startManualTelemetryExport(client: Client, settings: TemporalSettings, input: TelemetryExportInput, summary: string): Promise<Run> {
  const uuid = randomUUID();
  return startOrGetRun<typeof telemetryExport>(client, settings, {
    workflowType: TELEMETRY_EXPORT_WORKFLOW,
    taskQueue: TELEMETRY_TASK_QUEUE,
    domain: TELEMETRY_DOMAIN,
    workflowId: manualTelemetryExportWorkflowId(uuid),
    args: [input],
    businessKey: `manual-${uuid}`,
    summary,
  });
}
