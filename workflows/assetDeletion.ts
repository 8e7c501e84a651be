import { proxyActivities } from '@temporalio/workflow';
import type { AssetActivities } from '../activities/assets';
import type { AssetDeletionInput, AssetDeletionResult } from './assetDeletion.contract';

// Waiting for a conversion to close can take as long as its converter needs to notice the cancel.
const stopping = proxyActivities<AssetActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

const bookkeeping = proxyActivities<AssetActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

/**
 * Deletes an asset: its running conversion is canceled and has closed first, so nothing writes
 * behind the deletion; the record says `deleted` before any object goes, so a failure part-way
 * leaves a deleted asset whose objects a replay removes, never a live asset without objects.
 */
export async function assetDeletion({ assetId }: AssetDeletionInput): Promise<AssetDeletionResult> {
  await stopping.stopConversion(assetId);
  await bookkeeping.markDeleted(assetId);
  const objectsRemoved = await bookkeeping.removeAssetObjects(assetId);
  await bookkeeping.unindexAsset(assetId);
  return { assetId, status: 'deleted', objectsRemoved };
}
