import { CancellationScope, isCancellation, proxyActivities, setHandler } from '@temporalio/workflow';
import type { AssetActivities } from '../activities/assets';
import { applicationFailureOf, causeMessage } from './failures';
import {
  INVALID_CONTENT_FAILURE,
  RETRIES_EXHAUSTED_REASON,
  progressQuery,
  type AssetConversionInput, type AssetConversionResult,
  type Progress,
} from './assetConversion.contract';

// Bookkeeping and storage moves: quick calls; five attempts over ~15 s ride out a
// database failover or a gateway restart, then the run fails and can be replayed.
const bookkeeping = proxyActivities<AssetActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

// Scans and conversions read whole files and run LibreOffice: minutes, not seconds.
// They heartbeat every 5 s, so a crashed worker is noticed after 20 s, not 15 minutes.
const heavy = proxyActivities<AssetActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

export async function assetConversion(input: AssetConversionInput): Promise<AssetConversionResult> {
  let progress: Progress = { stage: 'queued', percent: 0, detail: null };
  setHandler(progressQuery, () => progress);
  const advance = (stage: string, percent: number, detail: string | null = null) => {
    progress = { stage, percent, detail };
  };
  const { assetId } = input;

  try {
    advance('verifying', 10);
    await bookkeeping.startIngestion(input);
    if (input.reason === 'quarantine-release') await bookkeeping.releaseFromQuarantine(assetId);
    await heavy.verifyUpload(assetId);

    // A released false positive was judged by an admin; scanning it again would re-quarantine it.
    if (input.reason === 'upload') {
      advance('scanning', 25);
      const scan = await heavy.scanUpload(assetId);
      if (!scan.clean) {
        advance('quarantining', 90, scan.signature);
        await bookkeeping.quarantineUpload(assetId, scan.signature ?? 'unknown');
        advance('quarantined', 100, scan.signature);
        return { assetId, status: 'quarantined', reason: scan.signature ?? undefined };
      }
    }

    advance('converting', 40);
    const output = await heavy.convertAsset(assetId);
    advance('indexing', 85);
    await bookkeeping.indexAsset(assetId);
    await bookkeeping.completeIngestion(assetId, output);
    advance('ready', 100);
    return { assetId, status: 'ready' };
  } catch (err) {
    const reason = isCancellation(err) ? 'canceled' : failureReason(err);
    advance('failed', 100, reason);
    // Recorded even when the run was canceled, so the asset never stays `processing`.
    await CancellationScope.nonCancellable(() => bookkeeping.failIngestion(assetId, reason));
    if (isInvalidContent(err)) return { assetId, status: 'failed', reason };
    throw err;
  }
}

const isInvalidContent = (err: unknown) => applicationFailureOf(err, INVALID_CONTENT_FAILURE) !== null;

function failureReason(err: unknown): string {
  return isInvalidContent(err) ? causeMessage(err) : `${RETRIES_EXHAUSTED_REASON}: ${causeMessage(err)}`;
}
