import { expect } from 'chai';
import sharp from 'sharp';
import { ASSETS_TASK_QUEUE } from '../../workflows/assetConversion.contract';
import { AssetIngestionEvent } from '../../db/models/Asset';
import { createScanner } from '../../providers/scanner';
import { taskQueueWorkers } from '../../workers/taskQueues';
import { readFixture, scanBeingRetried, uploadAsset } from '../support/assets';
import { docxWithEicarEntry, EICAR_SIGNATURE, eicarBuffer } from '../support/eicar';
import { call, tokenFor } from '../support/http';
import { waitFor } from '../support/wait';
import { freePort } from '../support/workerProcess';
import { createWorker, shared, startApi, temporalClient, type TestApi } from '../support/shared';

describe('asset conversion end to end (SPEC §4.1)', () => {
  let api: TestApi;
  const instructor = tokenFor('instructor');
  const admin = tokenFor('admin');

  before(async () => {
    api = await startApi();
  });

  /** Ingests through the API and runs a fresh worker until the workflow ends. */
  async function ingestAndConvert(assetId: string) {
    const ingest = await call(api.url, 'POST', `/api/v1/assets/${assetId}/ingest`, { token: instructor });
    expect(ingest.status, JSON.stringify(ingest.body)).to.equal(202);
    const { run } = ingest.body;
    expect(run.workflowId).to.equal(`asset-conversion:${assetId}`);
    const client = await temporalClient();
    const worker = await createWorker(ASSETS_TASK_QUEUE);
    const result = await worker.runUntil(client.workflow.getHandle(run.workflowId, run.runId).result());
    const view = await call(api.url, 'GET', `/api/v1/assets/${assetId}`, { token: admin });
    expect(view.status).to.equal(200);
    return { run, result, asset: view.body.asset, progress: view.body.progress, finalRun: view.body.run };
  }

  async function convertFixture(file: string, uploadAs = file) {
    const uploaded = await uploadAsset(api.url, instructor, uploadAs, await readFixture(file));
    return { id: uploaded.id, ...(await ingestAndConvert(uploaded.id)) };
  }

  const renditionNames = (asset: { renditions: Array<{ name: string }> }) => asset.renditions.map((r) => r.name).sort();

  it('PDF: ready with its page count, a PNG thumbnail, progress 100 and a completed run', async () => {
    const { asset, progress, finalRun, result } = await convertFixture('lecture.pdf');
    expect(result.status).to.equal('ready');
    expect(asset.status).to.equal('ready');
    expect(asset.metadata.pageCount).to.equal(3);
    expect(renditionNames(asset)).to.deep.equal(['thumbnail']);
    expect(asset.renditions[0].contentType).to.equal('image/png');
    expect(asset.scan).to.include({ clean: true, signature: null, engine: 'clamd' });
    expect(progress).to.deep.include({ stage: 'ready', percent: 100 });
    expect(finalRun.status).to.equal('Completed');
    expect(finalRun.uiUrl).to.contain(encodeURIComponent(finalRun.workflowId));
  });

  it('PPTX: converted to a PDF with one page per slide', async () => {
    const { asset } = await convertFixture('slides.pptx');
    expect(asset.status, asset.metadata.failureReason).to.equal('ready');
    expect(asset.metadata.pageCount).to.equal(4);
    expect(renditionNames(asset)).to.deep.equal(['pdf', 'thumbnail']);
  });

  it('DOCX: converted to PDF with its page count', async () => {
    const { asset } = await convertFixture('handout.docx');
    expect(asset.status, asset.metadata.failureReason).to.equal('ready');
    expect(asset.metadata.pageCount).to.equal(2);
  });

  it('EPUB: title, both authors and the chapter count from its manifest', async () => {
    const { asset } = await convertFixture('book.epub');
    expect(asset.status, asset.metadata.failureReason).to.equal('ready');
    expect(asset.metadata).to.deep.include({ title: 'The Durable Learner', authors: ['Ada Lovelace', 'Alan Turing'], chapterCount: 3 });
  });

  it('JPEG: 320 and 1280 px renditions that carry no EXIF', async () => {
    const original = await sharp(await readFixture('photo.jpg')).metadata();
    expect(original.exif, 'the fixture itself carries EXIF').to.be.instanceOf(Buffer);
    const { id, asset } = await convertFixture('photo.jpg');
    expect(asset.status, asset.metadata.failureReason).to.equal('ready');
    expect(asset.metadata).to.deep.include({ width: 1600, height: 1200 });
    expect(renditionNames(asset)).to.deep.equal(['w1280', 'w320']);
    for (const name of ['w320', 'w1280']) {
      const link = await call(api.url, 'GET', `/api/v1/assets/${id}/download-url?rendition=${name}`, { token: admin });
      expect(link.status).to.equal(200);
      const res = await fetch(link.body.url);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-disposition')).to.match(/^attachment;/);
      const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
      expect(meta.width).to.equal(Number(name.slice(1)));
      expect(meta.exif, `${name} must not carry EXIF`).to.equal(undefined);
    }
  });

  it('PNG: ready with its dimensions', async () => {
    const { asset } = await convertFixture('diagram.png');
    expect(asset.status, asset.metadata.failureReason).to.equal('ready');
    expect(asset.metadata).to.deep.include({ width: 800, height: 600 });
  });

  it('CSV: data rows (header excluded) and columns', async () => {
    const { asset } = await convertFixture('grades.csv');
    expect(asset.status, asset.metadata.failureReason).to.equal('ready');
    expect(asset.metadata.rowCount).to.equal(5);
    expect(asset.metadata.columns).to.be.an('array').that.is.not.empty;
  });

  it('EICAR: quarantined, moved to the quarantine bucket, the run completed with that outcome', async () => {
    const { config, providers } = shared();
    const uploaded = await uploadAsset(api.url, instructor, 'notes.csv', eicarBuffer());
    const { asset, result, finalRun } = await ingestAndConvert(uploaded.id);
    expect(result.status).to.equal('quarantined');
    expect(asset.status).to.equal('quarantined');
    expect(asset.scan).to.include({ clean: false, signature: EICAR_SIGNATURE, engine: 'clamd' });
    expect(finalRun.status).to.equal('Completed');
    const row = await shared().db('assets').where({ id: uploaded.id }).first();
    expect(await providers.storage.head(config.S3_BUCKET_QUARANTINE, row.uploadKey)).to.not.equal(null);
    expect(await providers.storage.head(config.S3_BUCKET_UPLOADS, row.uploadKey)).to.equal(null);
  });

  it('a docx carrying EICAR in a compressed zip entry past the first 4 KiB: quarantined by clamd, never converted', async () => {
    const uploaded = await uploadAsset(api.url, instructor, 'handout.docx', await docxWithEicarEntry());
    const { asset, result, finalRun } = await ingestAndConvert(uploaded.id);
    expect(result.status).to.equal('quarantined');
    expect(asset.status).to.equal('quarantined');
    expect(asset.scan).to.include({ clean: false, signature: EICAR_SIGNATURE, engine: 'clamd' });
    expect(asset.renditions).to.deep.equal([]);
    expect(finalRun.status).to.equal('Completed');
  });

  it('clamd down: the scan is retried and never taken as clean; once clamd answers, the verdict stands', async () => {
    const uploaded = await uploadAsset(api.url, instructor, 'later.csv', eicarBuffer());
    const ingest = await call(api.url, 'POST', `/api/v1/assets/${uploaded.id}/ingest`, { token: instructor });
    const client = await temporalClient();
    const handle = client.workflow.getHandle(ingest.body.run.workflowId, ingest.body.run.runId);

    const { config, db, providers } = shared();
    const scannerDown = createScanner({ clamdHost: '127.0.0.1', clamdPort: await freePort(), timeoutMs: 2000 });
    const withScannerDown = taskQueueWorkers(config, db, { ...providers, scanner: scannerDown }).find((w) => w.taskQueue === ASSETS_TASK_QUEUE);
    const blind = await createWorker(ASSETS_TASK_QUEUE, withScannerDown?.activities);
    await blind.runUntil(scanBeingRetried(handle));
    const during = await shared().db('assets').where({ id: uploaded.id }).first();
    expect(during.status).to.not.be.oneOf(['ready', 'quarantined']);
    expect(during.scan).to.equal(null);

    const worker = await createWorker(ASSETS_TASK_QUEUE);
    const result = await worker.runUntil(handle.result());
    expect(result.status).to.equal('quarantined');
    const view = await call(api.url, 'GET', `/api/v1/assets/${uploaded.id}`, { token: admin });
    expect(view.body.asset.scan).to.include({ clean: false, signature: EICAR_SIGNATURE, engine: 'clamd' });
  });

  it('a PNG declared as a PDF fails with a reason, and the run completes with that outcome', async () => {
    const { asset, result, finalRun } = await convertFixture('diagram.png', 'disguised.pdf');
    expect(result.status).to.equal('failed');
    expect(asset.status).to.equal('failed');
    expect(asset.metadata.failureReason).to.match(/declared pdf, found png/);
    expect(finalRun.status).to.equal('Completed');
  });

  it('ingesting twice answers the same run; the run is found in visibility by BusinessKey', async () => {
    const uploaded = await uploadAsset(api.url, instructor, 'twice.csv', await readFixture('grades.csv'));
    const first = await call(api.url, 'POST', `/api/v1/assets/${uploaded.id}/ingest`, { token: instructor });
    const second = await call(api.url, 'POST', `/api/v1/assets/${uploaded.id}/ingest`, { token: instructor });
    expect(second.status).to.equal(202);
    expect(second.body.run.workflowId).to.equal(`asset-conversion:${uploaded.id}`);
    expect(second.body.run.runId).to.equal(first.body.run.runId);
    const client = await temporalClient();
    const worker = await createWorker(ASSETS_TASK_QUEUE);
    await worker.runUntil(client.workflow.getHandle(first.body.run.workflowId).result());
    const third = await call(api.url, 'POST', `/api/v1/assets/${uploaded.id}/ingest`, { token: instructor });
    expect(third.body.run.runId, 'a completed run is answered, not repeated').to.equal(first.body.run.runId);

    const found = await waitFor('the run in visibility', async () => {
      const runIds: string[] = [];
      for await (const w of client.workflow.list({ query: `BusinessKey = "${uploaded.id}"` })) runIds.push(w.runId);
      return runIds.length > 0 ? runIds : undefined;
    });
    expect(found).to.deep.equal([first.body.run.runId]);
  });

  it('keeps a complete, duplicate-free audit trail', async () => {
    const { id } = await convertFixture('grades.csv');
    const events = await call(api.url, 'GET', `/api/v1/assets/${id}/events`, { token: instructor });
    expect(events.status).to.equal(200);
    const steps = events.body.items.map((e: { step: string }) => e.step);
    expect(steps).to.deep.equal(['started', 'verified', 'scanned', 'converted', 'indexed', 'ready']);
  });

  it('answers ingest before upload with 409 UPLOAD_MISSING and leaves the asset awaiting upload', async () => {
    const session = await call(api.url, 'POST', '/api/v1/assets/upload-sessions', {
      token: instructor,
      body: { filename: 'later.pdf', contentType: 'application/pdf', sizeBytes: 1234 },
    });
    const res = await call(api.url, 'POST', `/api/v1/assets/${session.body.asset.id}/ingest`, { token: instructor });
    expect(res.status).to.equal(409);
    expect(res.body).to.include({ type: 'conflict', code: 'UPLOAD_MISSING' });
    const view = await call(api.url, 'GET', `/api/v1/assets/${session.body.asset.id}`, { token: instructor });
    expect(view.body.asset.status).to.equal('awaiting_upload');
    expect(view.body.run).to.equal(null);
  });

  it('refuses oversize uploads (413) and types outside the allow-list (415) without storing anything', async () => {
    const before = await shared().db('assets').count('* as n').first();
    const big = await call(api.url, 'POST', '/api/v1/assets/upload-sessions', {
      token: instructor,
      body: { filename: 'huge.pdf', contentType: 'application/pdf', sizeBytes: shared().config.CONTENT_MAX_UPLOAD_MB * 1024 * 1024 + 1 },
    });
    expect(big.status).to.equal(413);
    expect(big.body.code).to.equal('UPLOAD_TOO_LARGE');
    const exe = await call(api.url, 'POST', '/api/v1/assets/upload-sessions', {
      token: instructor,
      body: { filename: 'setup.exe', contentType: 'application/octet-stream', sizeBytes: 10 },
    });
    expect(exe.status).to.equal(415);
    const lying = await call(api.url, 'POST', '/api/v1/assets/upload-sessions', {
      token: instructor,
      body: { filename: 'slides.pdf', contentType: 'image/png', sizeBytes: 10 },
    });
    expect(lying.status).to.equal(415);
    const after = await shared().db('assets').count('* as n').first();
    expect(after?.n).to.equal(before?.n);
  });

  it('lets learners see and download only ready assets, at most DRM_DOWNLOAD_LIMIT times', async () => {
    const limited = await startApi({ DRM_DOWNLOAD_LIMIT: 2 });
    const learner = tokenFor('learner');
    const pending = await uploadAsset(api.url, instructor, 'pending.csv', await readFixture('grades.csv'));
    expect((await call(limited.url, 'GET', `/api/v1/assets/${pending.id}`, { token: learner })).status).to.equal(404);
    expect((await call(limited.url, 'GET', `/api/v1/assets/${pending.id}/download-url`, { token: admin })).status).to.equal(409);

    const { id } = await convertFixture('lecture.pdf');
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      statuses.push((await call(limited.url, 'GET', `/api/v1/assets/${id}/download-url`, { token: learner })).status);
    }
    expect(statuses).to.deep.equal([200, 200, 403]);
    expect((await call(limited.url, 'GET', `/api/v1/assets/${id}/download-url`, { token: tokenFor('learner') })).status).to.equal(200);
    const link = await call(limited.url, 'GET', `/api/v1/assets/${id}/download-url?rendition=thumbnail`, { token: admin });
    expect(new Date(link.body.expiresAt).getTime() - Date.now()).to.be.at.most(3600 * 1000);
    expect((await call(limited.url, 'GET', `/api/v1/assets/${id}/download-url?rendition=nope`, { token: admin })).status).to.equal(404);
  });

  it('finds ready assets by title and by text through full-text search', async () => {
    const { id } = await convertFixture('book.epub');
    const byTitle = await call(api.url, 'GET', `/api/v1/search?q=${encodeURIComponent('durable learner')}`, { token: tokenFor('learner') });
    expect(byTitle.status).to.equal(200);
    expect(byTitle.body.items.map((a: { id: string }) => a.id)).to.include(id);
    const nothing = await call(api.url, 'GET', '/api/v1/search?q=zyxwvutsrq', { token: tokenFor('learner') });
    expect(nothing.body.items).to.deep.equal([]);
  });

  describe('quarantine review', () => {
    async function quarantined() {
      const uploaded = await uploadAsset(api.url, instructor, 'suspicious.csv', eicarBuffer());
      const { asset } = await ingestAndConvert(uploaded.id);
      expect(asset.status).to.equal('quarantined');
      return uploaded.id;
    }

    it('release re-ingests the false positive without rescanning and records the decision', async () => {
      const id = await quarantined();
      expect((await call(api.url, 'POST', `/api/v1/assets/${id}/quarantine-review`, {
        token: instructor,
        body: { decision: 'release', notes: 'x' },
      })).status).to.equal(403);
      const review = await call(api.url, 'POST', `/api/v1/assets/${id}/quarantine-review`, {
        token: admin,
        body: { decision: 'release', notes: 'test signature in a lesson about antivirus' },
      });
      expect(review.status, JSON.stringify(review.body)).to.equal(202);
      const client = await temporalClient();
      const worker = await createWorker(ASSETS_TASK_QUEUE);
      await worker.runUntil(client.workflow.getHandle(review.body.run.workflowId, review.body.run.runId).result());
      const view = await call(api.url, 'GET', `/api/v1/assets/${id}`, { token: admin });
      expect(view.body.asset.status).to.equal('ready');
      const steps = (await AssetIngestionEvent.query(shared().db).where('assetId', id).orderBy('id')).map((e) => e.step);
      expect(steps).to.include.members(['quarantined', 'review-release', 'released', 'ready']);
      const audit = await shared().db('audit_events').where({ action: 'quarantine.release', target: `asset:${id}` });
      expect(audit).to.have.length(1);
      expect(audit[0]).to.include({ reason: 'test signature in a lesson about antivirus', outcome: 'succeeded' });
      expect([audit[0].before, audit[0].after]).to.deep.equal([{ status: 'quarantined' }, { status: 'processing' }]);
      const again = await call(api.url, 'POST', `/api/v1/assets/${id}/quarantine-review`, {
        token: admin,
        body: { decision: 'delete', notes: 'too late' },
      });
      expect(again.status).to.equal(409);
    });

    it('delete removes the quarantined object and records the decision', async () => {
      const id = await quarantined();
      const row = await shared().db('assets').where({ id }).first();
      const review = await call(api.url, 'POST', `/api/v1/assets/${id}/quarantine-review`, {
        token: admin,
        body: { decision: 'delete', notes: 'real infection' },
      });
      expect(review.status).to.equal(200);
      expect(review.body.asset.status).to.equal('deleted');
      const { config, providers } = shared();
      expect(await providers.storage.head(config.S3_BUCKET_QUARANTINE, row.uploadKey)).to.equal(null);
      const events = await AssetIngestionEvent.query(shared().db).where({ assetId: id, step: 'review-delete' });
      expect(events).to.have.length(1);
      expect(events[0].actor).to.match(/^admin-/);
      const audit = await shared().db('audit_events').where({ action: 'quarantine.delete', target: `asset:${id}` });
      expect(audit).to.have.length(1);
      expect(audit[0]).to.include({ actorSub: events[0].actor, reason: 'real infection', outcome: 'succeeded' });
    });
  });
});
