import { CancellationScope, isCancellation, patched, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';
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
const bookkeepingOptions = {
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
} as const;
const bookkeeping = proxyActivities<AssetActivities>(bookkeepingOptions);
// The same steps as local activities: they run inside the workflow task, with no activity task and
// no extra round trip through the server each. Every one is safe to repeat, which a local activity
// needs (a worker lost before its workflow task completes runs it again), and the retries above stay
// under the SDK's one-minute local retry threshold, so they are backed off inside the task.
const localBookkeeping = proxyLocalActivities<AssetActivities>(bookkeepingOptions);

// Scans and conversions read whole files and run LibreOffice: minutes, not seconds.
// They heartbeat every 5 s, so a crashed worker is noticed after 20 s, not 15 minutes.
const heavy = proxyActivities<AssetActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

/** Added after the first conversions: runs recorded before it take the stepwise path below. */
const ONE_DOWNLOAD_PATCH = 'one-download-local-bookkeeping';

type Advance = (stage: string, percent: number, detail?: string | null) => void;
type Conversion = { output: Awaited<ReturnType<AssetActivities['convertAsset']>> } | { signature: string | null };

export async function assetConversion(input: AssetConversionInput): Promise<AssetConversionResult> {
  let progress: Progress = { stage: 'queued', percent: 0, detail: null };
  setHandler(progressQuery, () => progress);
  const advance: Advance = (stage, percent, detail = null) => {
    progress = { stage, percent, detail };
  };
  const { assetId } = input;
  const oneDownload = patched(ONE_DOWNLOAD_PATCH);
  const steps = oneDownload ? localBookkeeping : bookkeeping;

  try {
    advance('verifying', 10);
    await steps.startIngestion(input);
    if (input.reason === 'quarantine-release') await steps.releaseFromQuarantine(assetId);
    const conversion = oneDownload ? await processUpload(input, advance) : await stepwise(input, advance);
    if (!('output' in conversion)) {
      advance('quarantining', 90, conversion.signature);
      await steps.quarantineUpload(assetId, conversion.signature ?? 'unknown');
      advance('quarantined', 100, conversion.signature);
      return { assetId, status: 'quarantined', reason: conversion.signature ?? undefined };
    }
    advance('indexing', 85);
    if (oneDownload) {
      await localBookkeeping.finishIngestion(assetId, conversion.output);
    } else {
      await bookkeeping.indexAsset(assetId);
      await bookkeeping.completeIngestion(assetId, conversion.output);
    }
    advance('ready', 100);
    return { assetId, status: 'ready' };
  } catch (err) {
    const reason = isCancellation(err) ? 'canceled' : failureReason(err);
    advance('failed', 100, reason);
    // Recorded even when the run was canceled, so the asset never stays `processing`.
    await CancellationScope.nonCancellable(() => steps.failIngestion(assetId, reason));
    if (isInvalidContent(err)) return { assetId, status: 'failed', reason };
    throw err;
  }
}

/** Verify, scan and convert in one activity, from one download of the upload's copy. */
async function processUpload(input: AssetConversionInput, advance: Advance): Promise<Conversion> {
  advance('converting', 25, input.reason === 'upload' ? 'verifying, scanning and converting' : 'verifying and converting');
  const processed = await heavy.processUpload(input);
  return processed.clean ? { output: processed.output } : { signature: processed.scan.signature };
}

/** The path of runs started before ONE_DOWNLOAD_PATCH: one activity (and one download) per step. */
async function stepwise(input: AssetConversionInput, advance: Advance): Promise<Conversion> {
  const { assetId } = input;
  await heavy.verifyUpload(assetId);
  // A released false positive was judged by an admin; scanning it again would re-quarantine it.
  if (input.reason === 'upload') {
    advance('scanning', 25);
    const scan = await heavy.scanUpload(assetId);
    if (!scan.clean) return { signature: scan.signature };
  }
  advance('converting', 40);
  return { output: await heavy.convertAsset(assetId) };
}

const isInvalidContent = (err: unknown) => applicationFailureOf(err, INVALID_CONTENT_FAILURE) !== null;

function failureReason(err: unknown): string {
  return isInvalidContent(err) ? causeMessage(err) : `${RETRIES_EXHAUSTED_REASON}: ${causeMessage(err)}`;
}
