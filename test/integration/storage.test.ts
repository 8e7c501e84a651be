import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { parseConfig } from '../../lib/config';
import { attachmentDisposition, createStorage, type Storage, type StorageSettings } from '../../providers/storage';

const config = parseConfig(process.env);
const settings: StorageSettings = {
  endpoint: config.S3_ENDPOINT,
  region: config.S3_REGION,
  accessKeyId: config.S3_ACCESS_KEY_ID,
  secretAccessKey: config.S3_SECRET_ACCESS_KEY,
  forcePathStyle: config.S3_FORCE_PATH_STYLE,
  timeoutMs: config.PROVIDER_TIMEOUT_MS,
};
const UPLOADS = config.S3_BUCKET_UPLOADS;
const PRIVATE = config.S3_BUCKET_PRIVATE;
const pdf = readFile(path.resolve(__dirname, '../fixtures/lecture.pdf'));

async function gatewayAnswers(endpoint: string): Promise<boolean> {
  try {
    await fetch(endpoint, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

describe('storage (S3 gateway)', function () {
  this.timeout(60_000);
  let storage: Storage;
  const prefix = `unit-tests/${randomUUID()}/`;

  before(async function () {
    if (!(await gatewayAnswers(settings.endpoint))) {
      console.log(`      skipped: no S3 gateway answers at ${settings.endpoint} (start the stack first)`);
      this.skip();
    }
    storage = createStorage(settings);
  });

  after(async () => {
    if (!storage) return;
    for (const bucket of [UPLOADS, PRIVATE]) {
      for await (const object of storage.list(bucket, prefix)) await storage.remove(bucket, object.key);
    }
    storage.close();
  });

  it('the stack runner\'s bucket set-up gives the upload bucket its one-day expiry, and leaves the others alone', async () => {
    // What `scripts/stack.sh start` runs after SeaweedFS is up (idempotent).
    await promisify(execFile)(process.execPath, ['--import', 'tsx', path.resolve(__dirname, '../../scripts/buckets.ts')], {
      env: process.env,
      timeout: 60_000,
    });
    expect(await storage.expiryDays(UPLOADS)).to.equal(1);
    expect(await storage.expiryDays(PRIVATE)).to.equal(null);
  });

  it('answers ping for existing buckets and fails for a missing one', async () => {
    await storage.ping(UPLOADS);
    await storage.ping(PRIVATE);
    const err = await storage.ping(`missing-${randomUUID()}`).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(Error);
  });

  it('takes a presigned PUT from a plain HTTP client and reads the object back every way', async () => {
    const body = await pdf;
    const key = `${prefix}lecture.pdf`;
    const upload = await storage.presignPut(UPLOADS, key, { contentType: 'application/pdf', ttlSeconds: 300 });
    expect(upload.method).to.equal('PUT');
    expect(upload.headers).to.deep.equal({ 'Content-Type': 'application/pdf' });
    expect(Date.parse(upload.expiresAt) - Date.now()).to.be.within(290_000, 300_000);

    const put = await fetch(upload.url, { method: upload.method, headers: upload.headers, body });
    expect(put.status, await put.text()).to.equal(200);

    expect(await storage.head(UPLOADS, key)).to.deep.equal({ sizeBytes: body.length, contentType: 'application/pdf', metadata: {} });
    expect((await storage.readRange(UPLOADS, key, 5)).toString()).to.equal('%PDF-');
    expect((await storage.readRange(UPLOADS, key, body.length + 100)).equals(body)).to.equal(true);
    expect((await storage.getBuffer(UPLOADS, key)).equals(body)).to.equal(true);

    const dir = await mkdtemp(path.join(os.tmpdir(), 'storage-test-'));
    try {
      await storage.download(UPLOADS, key, path.join(dir, 'copy.pdf'));
      expect((await readFile(path.join(dir, 'copy.pdf'))).equals(body)).to.equal(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a presigned PUT whose Content-Type differs from the signed one', async () => {
    const upload = await storage.presignPut(UPLOADS, `${prefix}typed.pdf`, {
      contentType: 'application/pdf',
      ttlSeconds: 300,
    });
    const put = await fetch(upload.url, { method: 'PUT', headers: { 'Content-Type': 'text/html' }, body: 'x' });
    expect(put.status).to.equal(403);
    expect(await storage.head(UPLOADS, `${prefix}typed.pdf`)).to.equal(null);
  });

  it('serves a presigned GET as an attachment with a safely encoded file name', async () => {
    const key = `${prefix}download.pdf`;
    await storage.put(UPLOADS, key, await pdf, { contentType: 'application/pdf' });
    const filename = 'Résumé "final" (v2).pdf';
    const download = await storage.presignGet(UPLOADS, key, { ttlSeconds: 60, filename });
    expect(Date.parse(download.expiresAt) - Date.now()).to.be.within(50_000, 60_000);

    const response = await fetch(download.url);
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-disposition')).to.equal(attachmentDisposition(filename));
    expect(Buffer.from(await response.arrayBuffer()).equals(await pdf)).to.equal(true);
  });

  it('copies between buckets, lists by prefix and removes idempotently', async () => {
    const key = `${prefix}copy source/ü file.pdf`;
    await storage.put(UPLOADS, key, await pdf, { contentType: 'application/pdf', metadata: { assetid: 'a1' } });
    await storage.copy(UPLOADS, key, PRIVATE, key);
    expect(await storage.head(PRIVATE, key), 'the copy keeps the user metadata').to.deep.equal({
      sizeBytes: (await pdf).length,
      contentType: 'application/pdf',
      metadata: { assetid: 'a1' },
    });

    const listed = [];
    for await (const object of storage.list(PRIVATE, prefix)) listed.push(object);
    expect(listed.map((o) => [o.key, o.sizeBytes])).to.deep.equal([[key, (await pdf).length]]);
    expect(listed[0].lastModified).to.be.instanceOf(Date);

    await storage.remove(PRIVATE, key);
    expect(await storage.head(PRIVATE, key)).to.equal(null);
    await storage.remove(PRIVATE, key);
    await storage.remove(PRIVATE, `${prefix}never-existed`);
  });

  it('uploads a stream of unknown length in parts', async () => {
    const key = `${prefix}stream.bin`;
    const content = randomBytes(9 * 1024 * 1024 + 123);
    const chunks = Array.from({ length: Math.ceil(content.length / 65536) }, (_, i) =>
      content.subarray(i * 65536, (i + 1) * 65536),
    );
    await storage.put(UPLOADS, key, Readable.from(chunks), { contentType: 'application/octet-stream' });
    expect((await storage.head(UPLOADS, key))?.sizeBytes).to.equal(content.length);
    expect((await storage.getBuffer(UPLOADS, key)).equals(content)).to.equal(true);
  });

  it('returns null for a missing object and an empty buffer for a range of an empty one', async () => {
    expect(await storage.head(UPLOADS, `${prefix}missing.pdf`)).to.equal(null);
    await storage.put(UPLOADS, `${prefix}empty.csv`, Buffer.alloc(0), { contentType: 'text/csv' });
    expect((await storage.readRange(UPLOADS, `${prefix}empty.csv`, 8)).length).to.equal(0);
  });

  it('signs presigned URLs for the public endpoint when one is set', async () => {
    const publicEndpoint = settings.endpoint.replace('127.0.0.1', 'localhost');
    const publicStorage = createStorage({ ...settings, publicEndpoint });
    try {
      const key = `${prefix}public.pdf`;
      const upload = await publicStorage.presignPut(UPLOADS, key, { contentType: 'application/pdf', ttlSeconds: 60 });
      expect(new URL(upload.url).host).to.equal(new URL(publicEndpoint).host);
      const put = await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: await pdf });
      expect(put.status).to.equal(200);
      const download = await publicStorage.presignGet(UPLOADS, key, { ttlSeconds: 60, filename: 'public.pdf' });
      expect(new URL(download.url).host).to.equal(new URL(publicEndpoint).host);
      expect((await fetch(download.url)).status).to.equal(200);
    } finally {
      publicStorage.close();
    }
  });
});
