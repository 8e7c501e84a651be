import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { AssetIngestionEvent } from '../../db/models/Asset';
import { ASSETS_TASK_QUEUE } from '../../workflows/assetConversion.contract';
import { readFixture, uploadAsset } from '../support/assets';
import { call, tokenFor } from '../support/http';
import { createWorker, shared, startApi, temporalClient } from '../support/shared';
import { killHard, startWorkerProcess } from '../support/workerProcess';
import { waitFor } from '../support/wait';

describe('graceful worker shutdown (SIGTERM)', () => {
  const workers: ChildProcess[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map(killHard));
  });

  it('lets the in-flight activity finish within the grace time, then exits cleanly', async () => {
    const api = await startApi();
    const instructor = tokenFor('instructor');
    const uploaded = await uploadAsset(api.url, instructor, 'graceful.pptx', await readFixture('slides.pptx'));
    const ingest = await call(api.url, 'POST', `/api/v1/assets/${uploaded.id}/ingest`, { token: instructor });
    const client = await temporalClient();
    const handle = client.workflow.getHandle(ingest.body.run.workflowId, ingest.body.run.runId);

    const worker = startWorkerProcess({ WORKER_SHUTDOWN_GRACE_SECONDS: '60' });
    workers.push(worker);
    await waitFor('the conversion to be running on the worker', async () => {
      const { raw } = await handle.describe();
      return raw.pendingActivities?.some((a) => a.activityType?.name === 'processUpload' && Number(a.attempt) === 1 && a.lastStartedTime)
        ? true
        : undefined;
    });
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    worker.kill('SIGTERM');
    expect(await exited, 'the worker exits by itself, without an error').to.equal(0);

    const converted = await AssetIngestionEvent.query(shared().db).where({ assetId: uploaded.id, step: 'converted' });
    expect(converted, 'the in-flight conversion finished before the worker stopped').to.have.length(1);
    const { raw } = await handle.describe();
    expect(raw.pendingActivities ?? [], 'nothing was left half-done for a retry').to.deep.equal([]);

    const result = await (await createWorker(ASSETS_TASK_QUEUE)).runUntil(handle.result());
    expect(result.status).to.equal('ready');
  });
});
