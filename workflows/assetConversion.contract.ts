// Shared by the API and the workflow: how to find, start and ask an asset conversion.
import type { AssetConversionInput, AssetConversionResult } from '../schemas/assets';

export type { AssetConversionInput, AssetConversionResult };
export { progressQuery, type Progress } from './progress';

export const ASSET_CONVERSION_WORKFLOW = 'assetConversion';
export const ASSETS_TASK_QUEUE = 'assets';
export const ASSETS_DOMAIN = 'assets';

export const assetConversionWorkflowId = (assetId: string): string => `asset-conversion:${assetId}`;

/** ApplicationFailure type for content the platform refuses: a business outcome, never retried. */
export const INVALID_CONTENT_FAILURE = 'InvalidContent';

/** How the failure reason of a run that failed on infrastructure (and so ends Failed) begins. */
export const RETRIES_EXHAUSTED_REASON = 'processing failed after retries';
