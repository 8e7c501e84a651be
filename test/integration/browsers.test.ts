// Browsers (SPEC §3): CORS from the allow-list only, on the API and on the upload bucket's presigned
// PUTs, and the usual security headers on every response.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { call, tokenFor } from '../support/http';
import { shared, startApi, type TestApi } from '../support/shared';

const APP = 'https://app.edulure.example';
const FOREIGN = 'https://evil.example';

const preflight = (url: string, origin: string, method: string, headers = 'authorization,content-type') =>
  fetch(url, {
    method: 'OPTIONS',
    headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': headers },
    signal: AbortSignal.timeout(10_000),
  });

describe('browsers: CORS and security headers (SPEC §3)', () => {
  let api: TestApi;

  before(async () => {
    api = await startApi({ CORS_ALLOWED_ORIGINS: [APP] });
  });

  it('answers a preflight from an allowed origin with the configured methods, headers and max age', async () => {
    const res = await preflight(`${api.url}/api/v1/assets/upload-sessions`, APP, 'POST');
    expect(res.status).to.equal(204);
    expect(res.headers.get('access-control-allow-origin')).to.equal(APP);
    expect(res.headers.get('access-control-allow-methods')).to.equal('GET,HEAD,POST,PATCH,DELETE');
    expect(res.headers.get('access-control-allow-headers')).to.contain('idempotency-key');
    expect(res.headers.get('access-control-max-age')).to.equal('600');
    expect(res.headers.get('access-control-allow-credentials')).to.equal(null);
  });

  it('gives a foreign origin no CORS headers, on preflights and on requests', async () => {
    const pre = await preflight(`${api.url}/api/v1/assets/upload-sessions`, FOREIGN, 'POST');
    expect(pre.status).to.be.below(500);
    expect(pre.headers.get('access-control-allow-origin')).to.equal(null);
    const get = await call(api.url, 'GET', '/api/v1/assets?limit=1', { token: tokenFor('admin'), headers: { Origin: FOREIGN } });
    expect(get.status).to.equal(200);
    expect(get.headers.get('access-control-allow-origin')).to.equal(null);
  });

  it('lets an allowed origin read the answer and its request id', async () => {
    const get = await call(api.url, 'GET', '/api/v1/assets?limit=1', { token: tokenFor('admin'), headers: { Origin: APP } });
    expect(get.headers.get('access-control-allow-origin')).to.equal(APP);
    expect(get.headers.get('access-control-expose-headers')).to.contain('x-request-id');
  });

  it('has no CORS at all with the default (empty) allow-list', async () => {
    const plain = await startApi();
    const res = await preflight(`${plain.url}/api/v1/assets`, APP, 'GET');
    expect(res.headers.get('access-control-allow-origin')).to.equal(null);
  });

  it('sends the security headers on every response, errors and the docs included, HSTS only over TLS', async () => {
    for (const path of ['/health', '/api/docs', '/api/v1/nothing-here']) {
      const res = await call(api.url, 'GET', path);
      expect(res.headers.get('x-content-type-options'), path).to.equal('nosniff');
      expect(res.headers.get('x-frame-options'), path).to.equal('DENY');
      expect(res.headers.get('content-security-policy'), path).to.contain("default-src 'none'");
      expect(res.headers.get('strict-transport-security'), path).to.equal(null);
    }
  });

  it('lets an allowed origin PUT to a presigned upload URL, and no other', async () => {
    const { config, providers } = shared();
    await providers.storage.allowBrowserUploads(config.S3_BUCKET_UPLOADS, [APP], 600);
    try {
      const bytes = Buffer.from('header,row\n1,2\n');
      const session = await call(api.url, 'POST', '/api/v1/assets/upload-sessions', {
        token: tokenFor('instructor'),
        body: { filename: 'grades.csv', contentType: 'text/csv', sizeBytes: bytes.length, checksumSha256: createHash('sha256').update(bytes).digest('hex') },
      });
      expect(session.status, JSON.stringify(session.body)).to.equal(201);
      const { url, headers } = session.body.upload as { url: string; headers: Record<string, string> };

      const allowed = await preflight(url, APP, 'PUT', 'content-type');
      expect(allowed.headers.get('access-control-allow-origin')).to.equal(APP);
      const foreign = await preflight(url, FOREIGN, 'PUT', 'content-type');
      expect(foreign.headers.get('access-control-allow-origin')).to.equal(null);

      const put = await fetch(url, { method: 'PUT', headers: { ...headers, Origin: APP }, body: bytes, signal: AbortSignal.timeout(10_000) });
      expect(put.status).to.equal(200);
      expect(put.headers.get('access-control-allow-origin')).to.equal(APP);
    } finally {
      await providers.storage.allowBrowserUploads(config.S3_BUCKET_UPLOADS, config.CORS_ALLOWED_ORIGINS, config.CORS_MAX_AGE_SECONDS);
    }
  });
});
