// The typed client of retention runs started on request (the schedule starts the nightly ones: lib/schedules.ts).
import type { Client } from '@temporalio/client';
import type { Run } from '../../schemas/common';
import type { TemporalSettings } from '../temporal';
import type { retentionRun } from '../../workflows/retentionRun';
import {
  RETENTION_DOMAIN,
  RETENTION_RUN_WORKFLOW,
  RETENTION_TASK_QUEUE,
  retentionRunWorkflowId,
  type RetentionRunInput,
} from '../../workflows/retentionRun.contract';
import { payloadEncryptionOn } from '../dataConverter';
import { startOrGetRun } from './calls';

/** Starts the run of a recorded retention run (its id is the business key). */
export function startRetentionRun(
  client: Client,
  settings: TemporalSettings,
  input: RetentionRunInput & { retentionRunId: string },
  summary: string,
): Promise<Run> {
  return startOrGetRun<typeof retentionRun>(client, settings, {
    workflowType: RETENTION_RUN_WORKFLOW,
    taskQueue: RETENTION_TASK_QUEUE,
    domain: RETENTION_DOMAIN,
    workflowId: retentionRunWorkflowId(input.retentionRunId),
    args: [payloadEncryptionOn(settings) ? { ...input, encryptedHistory: true } : input],
    businessKey: input.retentionRunId,
    summary,
  });
}
