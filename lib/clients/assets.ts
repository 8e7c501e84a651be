// The typed client of asset conversion and deletion runs: the API starts and asks them only through here.
import type { Client } from '@temporalio/client';
import type { Run } from '../../schemas/common';
import type { TemporalSettings } from '../temporal';
import type { assetConversion } from '../../workflows/assetConversion';
import type { assetDeletion } from '../../workflows/assetDeletion';
import { ASSET_DELETION_WORKFLOW, assetDeletionWorkflowId } from '../../workflows/assetDeletion.contract';
import {
  ASSET_CONVERSION_WORKFLOW,
  ASSETS_DOMAIN,
  ASSETS_TASK_QUEUE,
  assetConversionWorkflowId,
  progressQuery,
  type AssetConversionInput,
  type Progress,
} from '../../workflows/assetConversion.contract';
import { DEADLINES_MS, latestRunOrNull, startOrGetRun, withDeadline } from './calls';

/** Starts an asset's conversion, or answers its run; `rerun` starts anew after a closed run (a release from quarantine). */
export function startAssetConversion(
  client: Client,
  settings: TemporalSettings,
  input: AssetConversionInput,
  start: { summary: string; rerun: boolean },
): Promise<Run> {
  return startOrGetRun<typeof assetConversion>(client, settings, {
    workflowType: ASSET_CONVERSION_WORKFLOW,
    taskQueue: ASSETS_TASK_QUEUE,
    domain: ASSETS_DOMAIN,
    workflowId: assetConversionWorkflowId(input.assetId),
    args: [input],
    businessKey: input.assetId,
    summary: start.summary,
    allowRerun: start.rerun,
  });
}

/** Starts an asset's deletion, or answers its run: a repeated delete never starts a second one. */
export function startAssetDeletion(client: Client, settings: TemporalSettings, assetId: string, summary: string): Promise<Run> {
  return startOrGetRun<typeof assetDeletion>(client, settings, {
    workflowType: ASSET_DELETION_WORKFLOW,
    taskQueue: ASSETS_TASK_QUEUE,
    domain: ASSETS_DOMAIN,
    workflowId: assetDeletionWorkflowId(assetId),
    args: [{ assetId }],
    businessKey: assetId,
    summary,
  });
}

/** The latest conversion run of an asset, or null when none was started. */
export function assetConversionRun(client: Client, settings: TemporalSettings, assetId: string): Promise<Run | null> {
  return latestRunOrNull(client, settings, assetConversionWorkflowId(assetId));
}

/** Where a running conversion is, or null when it does not answer in time. */
export async function queryAssetConversionProgress(client: Client, run: Pick<Run, 'workflowId' | 'runId'>): Promise<Progress | null> {
  try {
    const handle = client.workflow.getHandle<typeof assetConversion>(run.workflowId, run.runId);
    return await withDeadline(client, () => handle.query(progressQuery), DEADLINES_MS.progressQuery);
  } catch {
    return null;
  }
}
