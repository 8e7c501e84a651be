// Issue #14: what is verified is what is scanned, converted and served, whatever is PUT to a
// still-valid presigned upload URL afterwards (SPEC §4.1).
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import path from 'node:path';
import { expect } from 'chai';
import { ASSETS_TASK_QUEUE } from '../../workflows/assetConversion.contract';
import type { AssetActivities } from '../../activities/assets';
import { CONTENT_TYPES, readFixture } from '../support/assets';
import { eicarBuffer } from '../support/eicar';
import { call, tokenFor } from '../support/http';
import { createWorker, shared, startApi, temporalClient, type TestApi } from '../support/shared';
import { taskQueueWorkers } from '../../workers/taskQueues';
import { createAssetActivities } from '../../activities/assets';
import { ConversionError } from '../../providers/converter';
import JSZip from 'jszip';
import sharp from 'sharp';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The same length as `bytes`, other content: what a hostile uploader plants afterwards. */
function planted(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  for (let i = Math.floor(copy.length / 2); i < copy.length; i += 1) copy[i] = 0x20;
  return copy;
}

interface Session {
  id: string;
  upload: { url: string; method: string; headers: Record<string, string>; expiresAt: string };
}

describe('untrusted files: the upload URL cannot change what the platform uses (issue #14)', () => {
  let api: TestApi;
  const instructor = tokenFor('instructor');
  const admin = tokenFor('admin');

  before(async () => {
    api = await startApi();
  });

  async function openSession(filename: string, bytes: Buffer): Promise<Session> {
    const ext = path.extname(filename).slice(1);
    const session = await call(api.url, 'POST', '/api/v1/assets/upload-sessions', {
      token: instructor,
      body: { filename, contentType: CONTENT_TYPES[ext], sizeBytes: bytes.length, checksumSha256: sha256(bytes) },
    });
    expect(session.status, JSON.stringify(session.body)).to.equal(201);
    return { id: session.body.asset.id, upload: session.body.upload };
  }

  const put = (session: Session, bytes: Buffer) =>
    fetch(session.upload.url, { method: 'PUT', headers: session.upload.headers, body: bytes, signal: AbortSignal.timeout(30000) });

  async function uploaded(filename: string, bytes: Buffer): Promise<Session> {
    const session = await openSession(filename, bytes);
    const res = await put(session, bytes);
    expect(res.status, await res.text()).to.equal(200);
    return session;
  }

  /** Ingests and runs a worker (with `overrides`) until the run ends. */
  async function ingestAndRun(id: string, overrides: Partial<AssetActivities> = {}) {
    const ingest = await call(api.url, 'POST', `/api/v1/assets/${id}/ingest`, { token: instructor });
    expect(ingest.status, JSON.stringify(ingest.body)).to.equal(202);
    return runToEnd(ingest.body.run, overrides);
  }

  async function runToEnd(run: { workflowId: string; runId: string }, overrides: Partial<AssetActivities> = {}) {
    const client = await temporalClient();
    const worker = await createWorker(ASSETS_TASK_QUEUE, overrides);
    return worker.runUntil(client.workflow.getHandle(run.workflowId, run.runId).result());
  }

  async function download(id: string, rendition?: string): Promise<Buffer> {
    const link = await call(api.url, 'GET', `/api/v1/assets/${id}/download-url${rendition ? `?rendition=${rendition}` : ''}`, { token: admin });
    expect(link.status, JSON.stringify(link.body)).to.equal(200);
    const res = await fetch(link.body.url, { signal: AbortSignal.timeout(30000) });
    expect(res.status).to.equal(200);
    return Buffer.from(await res.arrayBuffer());
  }

  const assetView = async (id: string) => (await call(api.url, 'GET', `/api/v1/assets/${id}`, { token: admin })).body.asset;

  it('binds the presigned PUT to the declared length, for at most 15 minutes', async () => {
    const bytes = await readFixture('grades.csv');
    const session = await openSession('grades.csv', bytes);
    expect(new Date(session.upload.expiresAt).getTime() - Date.now()).to.be.at.most(15 * 60 * 1000);
    const longer = await put(session, Buffer.concat([bytes, Buffer.from('\nx,y')]));
    expect(longer.status, 'a body of another length').to.equal(403);
    const exact = await put(session, bytes);
    expect(exact.status).to.equal(200);
  });

  it('a PUT after ingest: what is verified, scanned, converted and downloaded is the first upload', async () => {
    const bytes = await readFixture('lecture.pdf');
    const session = await uploaded('lecture.pdf', bytes);
    const real = taskQueueWorkers(shared().config, shared().db, shared().providers).find((w) => w.taskQueue === ASSETS_TASK_QUEUE)
      ?.activities as AssetActivities;
    let replaced = 0;
    // The copy is taken when the run starts; the planted file lands before anything reads the copy.
    const processAfterPlanting: AssetActivities['processUpload'] = async (input) => {
      replaced = (await put(session, planted(bytes))).status;
      return real.processUpload(input);
    };
    const result = await ingestAndRun(session.id, { processUpload: processAfterPlanting });
    expect(replaced, 'the presigned URL still accepted the PUT').to.equal(200);
    expect(result.status).to.equal('ready');
    const asset = await assetView(session.id);
    expect(asset.metadata.pageCount).to.equal(3);
    expect(sha256(await download(session.id))).to.equal(sha256(bytes));
  });

  it('a PUT after ready changes no download', async () => {
    const bytes = await readFixture('diagram.png');
    const session = await uploaded('diagram.png', bytes);
    expect((await ingestAndRun(session.id)).status).to.equal('ready');
    const { config, providers } = shared();
    const row = await shared().db('assets').where({ id: session.id }).first();
    expect(await providers.storage.head(config.S3_BUCKET_UPLOADS, row.uploadKey), 'the upload key is deleted at ingest').to.equal(null);
    const before = { original: sha256(await download(session.id)), w320: sha256(await download(session.id, 'w320')) };
    expect(before.original).to.equal(sha256(bytes));

    expect((await put(session, planted(bytes))).status).to.equal(200);
    const again = await call(api.url, 'POST', `/api/v1/assets/${session.id}/ingest`, { token: instructor });
    expect(again.status).to.equal(202);
    expect(sha256(await download(session.id))).to.equal(before.original);
    expect(sha256(await download(session.id, 'w320'))).to.equal(before.w320);
  });

  it('a quarantine release converts the quarantined copy, never what was PUT to the upload URL since', async () => {
    const bytes = eicarBuffer();
    const session = await uploaded('notes.csv', bytes);
    expect((await ingestAndRun(session.id)).status).to.equal('quarantined');
    expect((await put(session, planted(bytes))).status).to.equal(200);
    const review = await call(api.url, 'POST', `/api/v1/assets/${session.id}/quarantine-review`, {
      token: admin,
      body: { decision: 'release', notes: 'antivirus lesson' },
    });
    expect(review.status, JSON.stringify(review.body)).to.equal(202);
    expect((await runToEnd(review.body.run)).status).to.equal('ready');
    expect(sha256(await download(session.id))).to.equal(sha256(bytes));
  });

  describe('poison files (SPEC §4.1)', () => {
    /** handout.docx with one more entry whose central-directory record declares 600 MiB inflated. */
    async function zipBombDocx(): Promise<Buffer> {
      const zip = await JSZip.loadAsync(await readFixture('handout.docx'));
      zip.file('word/media/bomb.bin', ' '.repeat(64 * 1024));
      const packed = await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE' });
      for (let at = packed.indexOf('PK\x01\x02', 0, 'latin1'); at >= 0; at = packed.indexOf('PK\x01\x02', at + 4, 'latin1')) {
        const nameLength = packed.readUInt16LE(at + 28);
        if (packed.toString('utf8', at + 46, at + 46 + nameLength) === 'word/media/bomb.bin') packed.writeUInt32LE(600 * 1024 * 1024, at + 24);
      }
      return packed;
    }

    /** A decompression bomb: a small PNG whose header (CRC intact) declares 8000 × 6500 px, above IMAGE_MAX_PIXELS (50 million). */
    async function hugePng(): Promise<Buffer> {
      const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ffffff' } }).png().toBuffer();
      const ihdr = png.indexOf('IHDR', 0, 'latin1');
      png.writeUInt32BE(8000, ihdr + 4);
      png.writeUInt32BE(6500, ihdr + 8);
      png.writeUInt32BE(crc32(png.subarray(ihdr, ihdr + 17)), ihdr + 17);
      return png;
    }

    const ingest = async (id: string) => (await call(api.url, 'POST', `/api/v1/assets/${id}/ingest`, { token: instructor })).body.run;

    it('a zip bomb docx and an image over the pixel limit end failed (or quarantined by clamd), and the worker converts a PDF afterwards', async () => {
      const bomb = await uploaded('bomb.docx', await zipBombDocx());
      const huge = await uploaded('huge.png', await hugePng());
      const pdf = await uploaded('after.pdf', await readFixture('lecture.pdf'));
      const client = await temporalClient();
      const worker = await createWorker(ASSETS_TASK_QUEUE);
      const results = await worker.runUntil(async () => {
        const poison = await Promise.all([bomb, huge].map(async (s) => {
          const run = await ingest(s.id);
          return client.workflow.getHandle(run.workflowId, run.runId).result();
        }));
        const run = await ingest(pdf.id);
        return [...poison, await client.workflow.getHandle(run.workflowId, run.runId).result()];
      });
      const [bombView, hugeView, pdfView] = await Promise.all([bomb, huge, pdf].map((s) => assetView(s.id)));
      for (const view of [bombView, hugeView]) {
        if (view.status === 'quarantined') expect(view.scan.signature).to.match(/Heuristics/);
        else expect(view.status).to.equal('failed');
      }
      if (bombView.status === 'failed') expect(bombView.metadata.failureReason).to.match(/decompression bomb/);
      if (hugeView.status === 'failed') expect(hugeView.metadata.failureReason).to.match(/pixels/);
      expect(results.map((r) => r.status)).to.deep.equal([bombView.status, hugeView.status, 'ready']);
      expect(pdfView.metadata.pageCount).to.equal(3);
    });

    it('WORKER_ACTIVITY_CONCURRENCY bounds each named task queue (assets 2 by default) and refuses unknown queue names', () => {
      const { config, db, providers } = shared();
      const bounds = (c: typeof config) =>
        Object.fromEntries(taskQueueWorkers(c, db, providers).map((w) => [w.taskQueue, w.maxConcurrentActivityTaskExecutions]));
      expect(bounds(config)).to.deep.include({ assets: 2, payments: undefined });
      expect(bounds({ ...config, WORKER_ACTIVITY_CONCURRENCY: { assets: 1, payments: 8 } })).to.deep.include({ assets: 1, payments: 8 });
      expect(() => taskQueueWorkers({ ...config, WORKER_ACTIVITY_CONCURRENCY: { asset: 2 } }, db, providers)).to.throw(/unknown task queue\(s\) asset/);
    });

    it('a converter hanging on a file: the asset fails after CONVERTER_MAX_ATTEMPTS attempts and the run completes', async () => {
      const { config, db, providers } = shared();
      expect(config.CONVERTER_MAX_ATTEMPTS).to.equal(2);
      let attempts = 0;
      const hanging = {
        ...providers.converter,
        officeToPdf: async () => {
          attempts += 1;
          throw new ConversionError('soffice: timed out', 'timeout');
        },
      };
      const buckets = { uploads: config.S3_BUCKET_UPLOADS, private: config.S3_BUCKET_PRIVATE, quarantine: config.S3_BUCKET_QUARANTINE };
      const activities = createAssetActivities({ db, ...providers, converter: hanging, buckets, converterMaxAttempts: config.CONVERTER_MAX_ATTEMPTS });
      const session = await uploaded('hangs.docx', await readFixture('handout.docx'));
      const result = await ingestAndRun(session.id, activities);
      expect(result.status).to.equal('failed');
      expect(attempts).to.equal(2);
      expect((await assetView(session.id)).metadata.failureReason).to.equal('soffice: timed out (attempt 2 of 2)');
    });
  });
});
