// Shared by the API and the workflow: how to find and start an asset's deletion.
import type { AssetDeletionInput, AssetDeletionResult } from '../schemas/assets';

export type { AssetDeletionInput, AssetDeletionResult };

export const ASSET_DELETION_WORKFLOW = 'assetDeletion';

export const assetDeletionWorkflowId = (assetId: string): string => `asset-deletion:${assetId}`;
