import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { AssetIngestionEvent, AssetRendition } from '../../db/models/Asset';
import { readFixture, uploadAsset } from '../support/assets';
import { call, tokenFor } from '../support/http';
import { shared, startApi, temporalClient } from '../support/shared';
import { startWorkerProcess } from '../support/workerProcess';
import { waitFor } from '../support/wait';

describe('chaos: SIGKILL the worker mid-conversion (SPEC §6)', () => {
  const workers: ChildProcess[] = [];
  afterEach(() => {
    for (const w of workers.splice(0)) if (w.exitCode === null) w.kill('SIGKILL');
  });

  it('a new worker finishes the asset with one set of renditions and no duplicated events', async () => {
    const api = await startApi();
    const instructor = tokenFor('instructor');
    const { db, config, providers } = shared();
    const uploaded = await uploadAsset(api.url, instructor, 'crash.pptx', await readFixture('slides.pptx'));
    const ingest = await call(api.url, 'POST', `/api/v1/assets/${uploaded.id}/ingest`, { token: instructor });
    expect(ingest.status).to.equal(202);

    const first = startWorkerProcess();
    workers.push(first);
    // The scan is recorded right before the conversion starts: kill the worker inside it.
    await waitFor('the scan to be recorded', async () =>
      (await AssetIngestionEvent.query(db).findOne({ assetId: uploaded.id, step: 'scanned' })) ? true : undefined,
    );
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const convertedBeforeKill = await AssetIngestionEvent.query(db).findOne({ assetId: uploaded.id, step: 'converted' });
    expect(convertedBeforeKill, 'the worker must die before the conversion finished').to.equal(undefined);

    workers.push(startWorkerProcess());
    const client = await temporalClient();
    const result = await client.workflow.getHandle(ingest.body.run.workflowId, ingest.body.run.runId).result();
    expect(result.status).to.equal('ready');

    const renditions = await AssetRendition.query(db).where('assetId', uploaded.id);
    expect(renditions.map((r) => r.name).sort()).to.deep.equal(['pdf', 'thumbnail']);
    const objects: string[] = [];
    for await (const o of providers.storage.list(config.S3_BUCKET_PRIVATE, `assets/${uploaded.id}/`)) objects.push(o.key);
    expect(objects.sort()).to.deep.equal([`assets/${uploaded.id}/document.pdf`, `assets/${uploaded.id}/thumbnail.png`]);
    const steps = (await AssetIngestionEvent.query(db).where('assetId', uploaded.id).orderBy('id')).map((e) => e.step);
    expect(steps).to.deep.equal(['started', 'verified', 'scanned', 'converted', 'indexed', 'ready']);
  });
});
