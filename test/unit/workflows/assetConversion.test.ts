// assetConversion's branches with mocked activities (SPEC §4.1, §6). A new run takes the one-download
// path: bookkeeping as local activities around one `processUpload` (verify, scan, convert); the
// stepwise path of runs recorded before it is covered by the histories in test/replay/.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { expect } from 'chai';
import type { AssetActivities } from '../../../activities/assets';
import type { ConversionOutput } from '../../../services/assets';
import type { assetConversion } from '../../../workflows/assetConversion';
import {
  ASSET_CONVERSION_WORKFLOW,
  ASSETS_DOMAIN,
  assetConversionWorkflowId,
  INVALID_CONTENT_FAILURE,
  progressQuery,
  type AssetConversionInput,
} from '../../../workflows/assetConversion.contract';
import { ActivityMocks, rejectionOf, unreachable, untilStage, useWorkflowRunner } from '../../support/workflowEnv';

const OUTPUT: ConversionOutput = {
  metadata: { pageCount: 3 },
  renditions: [{ name: 'thumbnail', contentType: 'image/png', sizeBytes: 2048, key: 'renditions/thumbnail.png' }],
};
const CLEAN = { clean: true, signature: null, engine: 'clamd', scannedAt: '2026-01-01T00:00:00.000Z' };

/** Activities of an asset whose upload is clean and converts; `overrides` change single steps. */
function assetMocks(overrides: Partial<AssetActivities> = {}) {
  return new ActivityMocks<AssetActivities>({
    startIngestion: async () => undefined,
    releaseFromQuarantine: async () => undefined,
    verifyUpload: async () => ({ kind: 'pdf' }),
    scanUpload: async () => CLEAN,
    quarantineUpload: async () => undefined,
    convertAsset: async () => OUTPUT,
    processUpload: async () => ({ clean: true, output: OUTPUT }),
    indexAsset: async () => undefined,
    completeIngestion: async () => undefined,
    finishIngestion: async () => undefined,
    failIngestion: async () => undefined,
    ...overrides,
  });
}

describe('assetConversion workflow (mocked activities)', function () {
  const { run } = useWorkflowRunner<typeof assetConversion>({
    type: ASSET_CONVERSION_WORKFLOW,
    domain: ASSETS_DOMAIN,
    workflowId: (input) => assetConversionWorkflowId(input.assetId),
  });
  const upload = (): AssetConversionInput => ({ assetId: randomUUID(), reason: 'upload' });

  it('a clean upload is verified, scanned and converted in one activity, then indexed and completed → ready', async () => {
    const input = upload();
    const mocks = assetMocks();
    const result = await run([input], mocks);
    expect(result).to.deep.equal({ assetId: input.assetId, status: 'ready' });
    expect(mocks.names()).to.deep.equal(['startIngestion', 'processUpload', 'finishIngestion']);
    expect(mocks.argsOf('startIngestion')).to.deep.equal([[input]]);
    expect(mocks.argsOf('processUpload')).to.deep.equal([[input]]);
    expect(mocks.argsOf('finishIngestion')).to.deep.equal([[input.assetId, OUTPUT]]);
  });

  it('runs the bookkeeping as local activities: only the upload’s processing is an activity task', async () => {
    const input = upload();
    const history = await run([input], assetMocks(), async (handle) => {
      await handle.result();
      return handle.fetchHistory();
    });
    const scheduled = (history.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    expect(scheduled).to.deep.equal(['processUpload']);
  });

  it('answers progress converting while the upload is processed', async () => {
    let finish = () => {};
    const processed = new Promise<void>((resolve) => (finish = resolve));
    const mocks = assetMocks({
      processUpload: async () => {
        await processed;
        return { clean: true, output: OUTPUT };
      },
    });
    const progress = await run([upload()], mocks, async (handle) => {
      try {
        return await untilStage(handle, 'converting');
      } finally {
        finish();
      }
    });
    expect(progress).to.deep.equal({ stage: 'converting', percent: 25, detail: 'verifying, scanning and converting' });
  });

  it('answers progress ready/100 once it is done', async () => {
    const progress = await run([upload()], assetMocks(), async (handle) => {
      await handle.result();
      return handle.query(progressQuery);
    });
    expect(progress).to.deep.equal({ stage: 'ready', percent: 100, detail: null });
  });

  it('an infected upload is quarantined with its signature and never converted → quarantined', async () => {
    const input = upload();
    const mocks = assetMocks({ processUpload: async () => ({ clean: false, scan: { ...CLEAN, clean: false, signature: 'Eicar-Test-Signature' } }) });
    const result = await run([input], mocks);
    expect(result).to.deep.equal({ assetId: input.assetId, status: 'quarantined', reason: 'Eicar-Test-Signature' });
    expect(mocks.names()).to.deep.equal(['startIngestion', 'processUpload', 'quarantineUpload']);
    expect(mocks.argsOf('quarantineUpload')).to.deep.equal([[input.assetId, 'Eicar-Test-Signature']]);
  });

  it('an infected upload without a signature name is quarantined as unknown', async () => {
    const input = upload();
    const mocks = assetMocks({ processUpload: async () => ({ clean: false, scan: { ...CLEAN, clean: false, signature: null } }) });
    const result = await run([input], mocks);
    expect(result).to.deep.equal({ assetId: input.assetId, status: 'quarantined' });
    expect(mocks.argsOf('quarantineUpload')).to.deep.equal([[input.assetId, 'unknown']]);
  });

  it('a released false positive is released from quarantine and processed with its reason (no new scan) → ready', async () => {
    const input: AssetConversionInput = { assetId: randomUUID(), reason: 'quarantine-release' };
    const mocks = assetMocks();
    const result = await run([input], mocks);
    expect(result).to.include({ status: 'ready' });
    expect(mocks.names()).to.deep.equal(['startIngestion', 'releaseFromQuarantine', 'processUpload', 'finishIngestion']);
    expect(mocks.argsOf('processUpload')).to.deep.equal([[input]]);
  });

  it('invalid content is recorded failed with the activity’s message and the run completes → failed', async () => {
    const input = upload();
    const mocks = assetMocks({
      processUpload: async () => {
        throw ApplicationFailure.nonRetryable('the docx is not a ZIP package', INVALID_CONTENT_FAILURE);
      },
    });
    const result = await run([input], mocks);
    expect(result).to.deep.equal({ assetId: input.assetId, status: 'failed', reason: 'the docx is not a ZIP package' });
    expect(mocks.argsOf('failIngestion')).to.deep.equal([[input.assetId, 'the docx is not a ZIP package']]);
    expect(mocks.argsOf('processUpload')).to.have.length(1);
    expect(mocks.names()).to.not.include('finishIngestion');
  });

  it('an infrastructure failure is retried 5 times, recorded failed, and then fails the run', async () => {
    const input = upload();
    const mocks = assetMocks({ processUpload: unreachable('S3 gateway unreachable') });
    const err = await rejectionOf(run([input], mocks));
    expect(err).to.be.instanceOf(WorkflowFailedError);
    expect(mocks.argsOf('processUpload')).to.have.length(5);
    expect(mocks.argsOf('failIngestion')).to.deep.equal([[input.assetId, 'processing failed after retries: S3 gateway unreachable']]);
    expect(mocks.names()).to.not.include('finishIngestion');
  });

  it('a bookkeeping step that keeps failing is retried 5 times (as a local activity), recorded failed, and fails the run', async () => {
    const input = upload();
    const mocks = assetMocks({ finishIngestion: unreachable('Postgres unreachable') });
    const err = await rejectionOf(run([input], mocks));
    expect(err).to.be.instanceOf(WorkflowFailedError);
    expect(mocks.argsOf('finishIngestion')).to.have.length(5);
    expect(mocks.argsOf('failIngestion')).to.deep.equal([[input.assetId, 'processing failed after retries: Postgres unreachable']]);
  });

  it('a cancel request records the asset failed (canceled) and ends the run canceled', async () => {
    const input = upload();
    let verifyStarted = () => {};
    let finishVerify = () => {};
    const verifying = new Promise<void>((resolve) => (verifyStarted = resolve));
    const verified = new Promise<void>((resolve) => (finishVerify = resolve));
    const mocks = assetMocks({
      processUpload: async () => {
        verifyStarted();
        await verified;
        return { clean: true, output: OUTPUT };
      },
    });
    const err = await run([input], mocks, async (handle) => {
      try {
        await verifying; // cancel while an activity runs, not while one is merely scheduled
        await handle.cancel();
        return await rejectionOf(handle.result());
      } finally {
        finishVerify(); // the activity ignores the cancel (it does not heartbeat); let the worker stop
      }
    });
    expect(err).to.be.instanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause).to.be.instanceOf(CancelledFailure);
    expect(mocks.argsOf('failIngestion')).to.deep.equal([[input.assetId, 'canceled']]);
    expect(mocks.names()).to.not.include('finishIngestion');
  });
});
