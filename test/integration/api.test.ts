import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { request } from 'node:http';
import { allRoutes } from '../../api/routes';
import { call, tokenFor } from '../support/http';
import { shared, startApi, type TestApi } from '../support/shared';

const ENVELOPE_KEYS = ['code', 'details', 'message', 'requestId', 'type'];

function expectEnvelope(res: { status: number; body: Record<string, unknown> }, status: number, type: string, code?: string) {
  expect(res.status, JSON.stringify(res.body)).to.equal(status);
  expect(Object.keys(res.body).sort()).to.deep.equal(ENVELOPE_KEYS);
  expect(res.body.type).to.equal(type);
  if (code) expect(res.body.code).to.equal(code);
  expect(JSON.stringify(res.body)).not.to.match(/\bat \S+ \(|node_modules/);
}

describe('API core (SPEC §3)', () => {
  let api: TestApi;
  before(async () => {
    api = await startApi();
  });

  it('answers /health without auth', async () => {
    const res = await call(api.url, 'GET', '/health');
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ status: 'ok' });
  });

  it('is ready with every check true against the real stack', async () => {
    const res = await call(api.url, 'GET', '/ready');
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    for (const name of ['database', 'migrations', 'temporal', 'storage', 'scanner', 'stripe']) {
      expect(res.body.checks[name].ok, `${name}: ${res.body.checks[name].detail}`).to.equal(true);
    }
  });

  it('reports clamd down without becoming unready: the API never scans', async () => {
    const noScanner = await startApi({ CLAMD_PORT: 1 });
    const res = await call(noScanner.url, 'GET', '/ready');
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.checks.scanner.ok).to.equal(false);
    expect(res.body.checks.scanner.detail).to.contain('clamd at 127.0.0.1:1');
  });

  it('reports 503 naming the dependency that is down', async () => {
    const broken = await startApi({ S3_BUCKET_PRIVATE: 'bucket-that-does-not-exist' });
    const res = await call(broken.url, 'GET', '/ready');
    expect(res.status).to.equal(503);
    expect(res.body.checks.storage.ok).to.equal(false);
    expect(res.body.checks.database.ok).to.equal(true);
  });

  it('keeps a well-formed X-Request-Id and replaces a bad one', async () => {
    const kept = await call(api.url, 'GET', '/health', { headers: { 'X-Request-Id': 'trace.abc-123_Z' } });
    expect(kept.headers.get('x-request-id')).to.equal('trace.abc-123_Z');
    const replaced = await call(api.url, 'GET', '/health', { headers: { 'X-Request-Id': 'bad id with spaces' } });
    expect(replaced.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown routes with a 404 envelope carrying the request id', async () => {
    const res = await call(api.url, 'GET', '/api/v1/nothing-here', { headers: { 'X-Request-Id': 'req-404' } });
    expectEnvelope(res, 404, 'not_found', 'ROUTE_NOT_FOUND');
    expect(res.body.requestId).to.equal('req-404');
  });

  it('answers a method a path lacks with 405, Allow and the envelope, whatever the method (TRACE included)', async () => {
    // fetch refuses to send TRACE, so these go through node:http.
    const raw = (method: string, path: string) =>
      new Promise<{ status: number; allow?: string; body: Record<string, unknown> }>((resolve, reject) => {
        const req = request(`${api.url}${path}`, { method }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow, body: JSON.parse(text || '{}') as Record<string, unknown> }));
        });
        req.on('error', reject);
        req.end();
      });
    for (const method of ['TRACE', 'PROPFIND', 'PUT']) {
      const res = await raw(method, '/api/v1/assets');
      expect(res.status, method).to.equal(405);
      expect(res.allow, method).to.equal('HEAD, GET');
      expect(res.body, method).to.include({ type: 'validation_error', code: 'METHOD_NOT_ALLOWED' });
    }
    const unknown = await raw('TRACE', '/api/v1/nothing-here');
    expect(unknown.status).to.equal(404);
    expect(unknown.body).to.include({ type: 'not_found', code: 'ROUTE_NOT_FOUND' });
  });

  it('rejects malformed JSON with 400 and other media types with 415', async () => {
    const token = tokenFor('instructor');
    const malformed = await call(api.url, 'POST', '/api/v1/assets/upload-sessions', { token, body: '{"filename": ' });
    expectEnvelope(malformed, 400, 'validation_error', 'MALFORMED_JSON');
    const form = await call(api.url, 'POST', '/api/v1/assets/upload-sessions', {
      token,
      body: 'filename=a.pdf',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expectEnvelope(form, 415, 'validation_error', 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('rejects unknown body properties and wrong types, naming each', async () => {
    const res = await call(api.url, 'POST', '/api/v1/assets/upload-sessions', {
      token: tokenFor('instructor'),
      body: { filename: 'a.pdf', contentType: 'application/pdf', sizeBytes: 'ten', colour: 'red' },
    });
    expectEnvelope(res, 400, 'validation_error', 'VALIDATION_FAILED');
    const paths = (res.body.details as Array<{ path: string }>).map((d) => d.path);
    expect(paths).to.include('body/colour');
    expect(paths).to.include('body/sizeBytes');
  });

  it('validates path and query parameters', async () => {
    const token = tokenFor('admin');
    expectEnvelope(await call(api.url, 'GET', '/api/v1/assets/not-a-uuid', { token }), 400, 'validation_error');
    expectEnvelope(await call(api.url, 'GET', '/api/v1/assets?limit=500', { token }), 400, 'validation_error');
    expectEnvelope(await call(api.url, 'GET', '/api/v1/assets?cursor=garbage', { token }), 400, 'validation_error', 'INVALID_CURSOR');
  });

  describe('authentication and roles', () => {
    const { JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE } = shared().config;
    const sign = (claims: object, options: jwt.SignOptions = {}) =>
      jwt.sign(claims, JWT_SECRET, { algorithm: 'HS256', issuer: JWT_ISSUER, audience: JWT_AUDIENCE, subject: 'u1', ...options });

    it('401 without a token, with a bad signature, wrong audience or issuer, no expiry, or expired', async () => {
      const cases: Array<[string | undefined, string]> = [
        [undefined, 'TOKEN_MISSING'],
        [jwt.sign({ roles: ['admin'] }, 'another-secret-entirely', { expiresIn: 60, issuer: JWT_ISSUER, audience: JWT_AUDIENCE }), 'TOKEN_INVALID'],
        [sign({ roles: ['admin'] }, { expiresIn: 60, audience: 'someone-else' }), 'TOKEN_INVALID'],
        [sign({ roles: ['admin'] }, { expiresIn: 60, issuer: 'someone-else' }), 'TOKEN_INVALID'],
        [sign({ roles: ['admin'] }), 'TOKEN_INVALID'],
        [sign({ roles: ['admin'], exp: Math.floor(Date.now() / 1000) - 10 }), 'TOKEN_EXPIRED'],
      ];
      for (const [token, code] of cases) {
        expectEnvelope(await call(api.url, 'GET', '/api/v1/assets', { token }), 401, 'authentication_error', code);
      }
    });

    it('403 for a role the route does not allow', async () => {
      const res = await call(api.url, 'GET', '/api/v1/assets', { token: tokenFor('learner') });
      expectEnvelope(res, 403, 'permission_error', 'ROLE_REQUIRED');
    });

    it('npm run token mints a token this API accepts', async () => {
      const { execFileSync } = await import('node:child_process');
      const out = execFileSync('npm', ['run', '--silent', 'token', '--', '--role', 'admin', '--sub', 'alice'], { encoding: 'utf8' });
      const token = out.trim().split('\n').pop() as string;
      const res = await call(api.url, 'GET', '/api/v1/assets?limit=1', { token });
      expect(res.status).to.equal(200);
    });
  });

  it('rate-limits per principal and route group with Retry-After', async () => {
    const limited = await startApi({ RATE_LIMIT_BURST: 3, RATE_LIMIT_PER_MINUTE: 1 });
    const token = tokenFor('admin');
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 5; i += 1) {
      last = await call(limited.url, 'GET', '/api/v1/assets?limit=1', { token });
      statuses.push(last.status);
    }
    expect(statuses).to.deep.equal([200, 200, 200, 429, 429]);
    expectEnvelope(last as never, 429, 'rate_limited', 'RATE_LIMITED');
    expect(Number(last?.headers.get('retry-after'))).to.be.greaterThan(0);
    const other = await call(limited.url, 'GET', '/api/v1/assets?limit=1', { token: tokenFor('admin') });
    expect(other.status, 'another principal has its own bucket').to.equal(200);
    expect((await call(limited.url, 'GET', '/health')).status, 'health is exempt').to.equal(200);
  });

  it('serves an OpenAPI 3.1 document covering every route', async () => {
    const res = await call(api.url, 'GET', '/api/docs');
    expect(res.status).to.equal(200);
    expect(res.body.openapi).to.equal('3.1.0');
    for (const route of allRoutes) {
      const path = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      expect(res.body.paths[path]?.[route.method], `${route.method} ${path}`).to.be.an('object');
    }
    const upload = res.body.paths['/api/v1/assets/upload-sessions'].post;
    expect(upload.requestBody.content['application/json'].schema.additionalProperties).to.equal(false);
    expect(upload['x-roles']).to.deep.equal(['instructor', 'admin']);
  });

  it('exposes Prometheus metrics, guarded by METRICS_BEARER_TOKEN when set', async () => {
    await call(api.url, 'GET', '/health');
    const session = await call(api.url, 'POST', '/api/v1/assets/upload-sessions', {
      token: tokenFor('instructor'),
      body: { filename: 'metrics.pdf', contentType: 'application/pdf', sizeBytes: 10 },
    });
    expect(session.status).to.equal(201);
    const open = await call(api.url, 'GET', '/metrics');
    expect(open.status).to.equal(200);
    expect(open.body as unknown as string).to.match(/http_request_duration_seconds_bucket\{[^}]*route="\/health"/);
    expect(open.body as unknown as string).to.match(/^assets_by_status\{status="awaiting_upload"\} [1-9]\d*$/m);
    const guarded = await startApi({ METRICS_BEARER_TOKEN: 'metrics-secret' });
    expectEnvelope(await call(guarded.url, 'GET', '/metrics'), 401, 'authentication_error');
    expectEnvelope(await call(guarded.url, 'GET', '/metrics', { token: 'metrics-secreT' }), 401, 'authentication_error');
    expectEnvelope(await call(guarded.url, 'GET', '/metrics', { token: tokenFor('admin') }), 401, 'authentication_error');
    expect((await call(guarded.url, 'GET', '/metrics', { token: 'metrics-secret' })).status).to.equal(200);
  });
});
