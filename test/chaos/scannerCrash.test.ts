// clamd SIGKILLed while an upload waits for its scan: the scan fails and is retried (never `clean`),
// `scripts/stack.sh start clamd` brings clamd back on the first try, and the verdict then stands.
import { expect } from 'chai';
import { scanBeingRetried, uploadAsset } from '../support/assets';
import { EICAR_SIGNATURE, eicarBuffer } from '../support/eicar';
import { call, tokenFor } from '../support/http';
import { createWorker, shared, startApi, temporalClient } from '../support/shared';
import { killPart, notCrashable, startPart } from '../support/stackParts';
import { ASSETS_TASK_QUEUE } from '../../workflows/assetConversion.contract';

describe('chaos: clamd SIGKILLed while an upload waits for its scan (SPEC §2, §4.1)', function () {
  this.timeout(240_000);

  before(function () {
    const reason = notCrashable('clamd');
    if (reason) {
      console.log(`      skipped: ${reason}`);
      this.skip();
    }
  });

  it('retries the scan while clamd is down and quarantines once it is back', async () => {
    const api = await startApi();
    const instructor = tokenFor('instructor');
    const uploaded = await uploadAsset(api.url, instructor, 'while-down.csv', eicarBuffer());
    await killPart('clamd');
    try {
      const ingest = await call(api.url, 'POST', `/api/v1/assets/${uploaded.id}/ingest`, { token: instructor });
      const handle = (await temporalClient()).workflow.getHandle(ingest.body.run.workflowId, ingest.body.run.runId);
      const worker = await createWorker(ASSETS_TASK_QUEUE);
      const result = await worker.runUntil(async () => {
        await scanBeingRetried(handle);
        const during = await shared().db('assets').where({ id: uploaded.id }).first();
        expect(during.scan, 'no verdict while clamd is down').to.equal(null);
        await startPart('clamd');
        return handle.result();
      });
      expect(result.status).to.equal('quarantined');
      const view = await call(api.url, 'GET', `/api/v1/assets/${uploaded.id}`, { token: tokenFor('admin') });
      expect(view.body.asset.scan).to.include({ clean: false, signature: EICAR_SIGNATURE, engine: 'clamd' });
    } finally {
      await startPart('clamd');
    }
  });
});
