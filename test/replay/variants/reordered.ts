// A deliberately non-deterministic assetConversion: it scans before it
// verifies. The determinism gate must reject it against recorded histories.
import { proxyActivities } from '@temporalio/workflow';
import type { AssetActivities } from '../../../activities/assets';
import type { AssetConversionInput, AssetConversionResult } from '../../../workflows/assetConversion.contract';

const acts = proxyActivities<AssetActivities>({ startToCloseTimeout: '1 minute' });

export async function assetConversion(input: AssetConversionInput): Promise<AssetConversionResult> {
  await acts.startIngestion(input);
  await acts.scanUpload(input.assetId);
  await acts.verifyUpload(input.assetId);
  return { assetId: input.assetId, status: 'ready' };
}
