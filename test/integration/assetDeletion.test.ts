// DELETE /api/v1/assets/{id} and the assetDeletion workflow (SPEC §4.1, issue #14).
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { ASSETS_TASK_QUEUE } from '../../workflows/assetConversion.contract';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { AssetActivities } from '../../activities/assets';
import { failIngestion, markDeleted, type ConversionOutput } from '../../services/assets';
import { taskQueueWorkers } from '../../workers/taskQueues';
import { readFixture, uploadAsset } from '../support/assets';
import { call, tokenFor } from '../support/http';
import { createWorker, shared, startApi, temporalClient, type TestApi } from '../support/shared';

describe('asset deletion (SPEC §4.1)', () => {
  let api: TestApi;
  const owner = `instructor-${randomUUID()}`;
  const instructor = tokenFor('instructor', owner);
  const admin = tokenFor('admin');

  before(async () => {
    api = await startApi();
  });

  const runToEnd = async (run: { workflowId: string; runId: string }) => {
    const client = await temporalClient();
    const worker = await createWorker(ASSETS_TASK_QUEUE);
    return worker.runUntil(client.workflow.getHandle(run.workflowId, run.runId).result());
  };

  async function objectsOf(id: string) {
    const { config, providers } = shared();
    const row = await shared().db('assets').where({ id }).first();
    const found: string[] = [];
    for (const prefix of [`assets/${id}/`, `sources/${id}/`]) {
      for await (const o of providers.storage.list(config.S3_BUCKET_PRIVATE, prefix)) found.push(`private/${o.key}`);
    }
    for (const bucket of [config.S3_BUCKET_UPLOADS, config.S3_BUCKET_QUARANTINE]) {
      if (await providers.storage.head(bucket, row.uploadKey)) found.push(`${bucket}/${row.uploadKey}`);
    }
    return found;
  }

  const search = async (q: string) =>
    (await call(api.url, 'GET', `/api/v1/search?q=${encodeURIComponent(q)}`, { token: tokenFor('learner') })).body.items.map((a: { id: string }) => a.id);

  it('a ready asset: objects and search entry gone, downloads 404 ASSET_DELETED, shown deleted to owner and admins only, audited', async () => {
    const title = `deletable${randomUUID().slice(0, 8)}`;
    const uploaded = await uploadAsset(api.url, instructor, `${title}.pdf`, await readFixture('lecture.pdf'));
    const ingest = await call(api.url, 'POST', `/api/v1/assets/${uploaded.id}/ingest`, { token: instructor });
    expect((await runToEnd(ingest.body.run)).status).to.equal('ready');
    expect(await objectsOf(uploaded.id)).to.have.length(2); // the original's copy and the thumbnail
    expect(await search(title)).to.deep.equal([uploaded.id]);

    expect((await call(api.url, 'DELETE', `/api/v1/assets/${uploaded.id}`, { token: tokenFor('instructor') })).status, 'not the owner').to.equal(404);
    expect((await call(api.url, 'DELETE', `/api/v1/assets/${uploaded.id}`, { token: tokenFor('learner') })).status).to.equal(403);
    const del = await call(api.url, 'DELETE', `/api/v1/assets/${uploaded.id}`, { token: instructor });
    expect(del.status, JSON.stringify(del.body)).to.equal(202);
    expect(del.body.run.workflowId).to.equal(`asset-deletion:${uploaded.id}`);
    const again = await call(api.url, 'DELETE', `/api/v1/assets/${uploaded.id}`, { token: admin });
    expect(again.body.run.runId, 'a repeat answers the same run').to.equal(del.body.run.runId);

    const result = await runToEnd(del.body.run);
    expect(result).to.deep.equal({ assetId: uploaded.id, status: 'deleted', objectsRemoved: 2 });
    expect(await objectsOf(uploaded.id)).to.deep.equal([]);
    expect(await search(title)).to.deep.equal([]);

    for (const token of [instructor, admin]) {
      const view = await call(api.url, 'GET', `/api/v1/assets/${uploaded.id}`, { token });
      expect(view.status).to.equal(200);
      expect(view.body.asset).to.include({ status: 'deleted' });
      expect(view.body.asset.renditions).to.deep.equal([]);
    }
    for (const token of [tokenFor('instructor'), tokenFor('learner'), tokenFor('support')]) {
      expect((await call(api.url, 'GET', `/api/v1/assets/${uploaded.id}`, { token })).status).to.equal(404);
    }
    for (const rendition of ['', '?rendition=thumbnail']) {
      const link = await call(api.url, 'GET', `/api/v1/assets/${uploaded.id}/download-url${rendition}`, { token: admin });
      expect(link.status).to.equal(404);
      expect(link.body).to.include({ type: 'not_found', code: 'ASSET_DELETED' });
    }

    const audit = await shared().db('audit_events').where({ action: 'asset.delete', target: `asset:${uploaded.id}` }).orderBy('id');
    expect(audit.map((r) => [r.actorSub, r.outcome])).to.deep.equal([[owner, 'succeeded'], [audit[1]?.actorSub, 'succeeded']]);
    expect(audit[0].before).to.deep.equal({ status: 'ready' });
    const steps = (await call(api.url, 'GET', `/api/v1/assets/${uploaded.id}/events`, { token: instructor })).body.items.map((e: { step: string }) => e.step);
    expect(steps.slice(-3)).to.deep.equal(['deleted', 'objects-removed', 'unindexed']);
  });

  it('a running conversion is canceled and closed first; its failure never overwrites `deleted`', async () => {
    const uploaded = await uploadAsset(api.url, instructor, 'slides.pptx', await readFixture('slides.pptx'));
    const ingest = await call(api.url, 'POST', `/api/v1/assets/${uploaded.id}/ingest`, { token: instructor });
    const del = await call(api.url, 'DELETE', `/api/v1/assets/${uploaded.id}`, { token: admin });
    expect(del.status).to.equal(202);
    expect((await runToEnd(del.body.run)).status).to.equal('deleted');

    const client = await temporalClient();
    const conversion = await client.workflow.getHandle(ingest.body.run.workflowId, ingest.body.run.runId).describe();
    expect(conversion.status.name).to.equal('CANCELLED');
    const row = await shared().db('assets').where({ id: uploaded.id }).first();
    expect(row.status).to.equal('deleted');
    expect(await objectsOf(uploaded.id)).to.deep.equal([]);

    await failIngestion(shared().db, uploaded.id, 'a late step of a canceled run');
    expect((await shared().db('assets').where({ id: uploaded.id }).first()).status).to.equal('deleted');
    const reingest = await call(api.url, 'POST', `/api/v1/assets/${uploaded.id}/ingest`, { token: instructor });
    expect(reingest.status).to.equal(409);
  });

  it('a conversion outliving its canceled run leaves no object behind a committed deletion', async () => {
    const uploaded = await uploadAsset(api.url, instructor, 'late.png', await readFixture('diagram.png'));
    const { config, db, providers } = shared();
    const activities = taskQueueWorkers(config, db, providers).find((w) => w.taskQueue === ASSETS_TASK_QUEUE)?.activities as AssetActivities;
    const env = new MockActivityEnvironment({ workflowExecution: { workflowId: `asset-conversion:${uploaded.id}`, runId: randomUUID() } });
    await env.run(() => activities.startIngestion({ assetId: uploaded.id, reason: 'upload' }));
    await markDeleted(db, uploaded.id);
    const output = await env.run<[], ConversionOutput, () => Promise<ConversionOutput>>(() => activities.convertAsset(uploaded.id));
    expect(output.renditions.map((r) => r.name).sort(), 'it did write its renditions').to.deep.equal(['w1280', 'w320']);
    expect(await objectsOf(uploaded.id)).to.deep.equal([]);
  });
});
