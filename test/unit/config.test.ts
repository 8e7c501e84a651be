import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, describeConfig, parseConfig } from '../../lib/config';
import { connectionOptions } from '../../lib/temporal';

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    parseConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('configuration (validated once at boot)', () => {
  it('works with no environment at all, using the local defaults', () => {
    const config = parseConfig({});
    expect(config.PORT).to.equal(8080);
    expect(config.TEMPORAL_ADDRESS).to.equal('127.0.0.1:7233');
    expect(config.S3_FORCE_PATH_STYLE).to.equal(true);
  });

  it('coerces numbers and booleans from text', () => {
    const config = parseConfig({ PORT: '9090', S3_FORCE_PATH_STYLE: 'false', DRM_DOWNLOAD_LIMIT: '3' });
    expect(config).to.include({ PORT: 9090, S3_FORCE_PATH_STYLE: false, DRM_DOWNLOAD_LIMIT: 3 });
  });

  it('parses lists and the tax table once, at boot', () => {
    const config = parseConfig({
      TELEMETRY_ALLOWED_SOURCES: 'web,mobile',
      PAYMENTS_TAX_TABLE: '{"GB":0.2}',
      PAYMENTS_DEFAULT_TAX_REGION: 'GB',
      WORKER_TASK_QUEUES: '',
    });
    expect(config.TELEMETRY_ALLOWED_SOURCES).to.deep.equal(['web', 'mobile']);
    expect(config.PAYMENTS_TAX_TABLE).to.deep.equal({ GB: 0.2 });
    expect(config.WORKER_TASK_QUEUES).to.deep.equal([]);
    expect(Object.isFrozen(config.TELEMETRY_ALLOWED_SOURCES)).to.equal(true);
  });

  it('refuses a default tax region the tax table does not have', () => {
    expect(problemsOf({ PAYMENTS_TAX_TABLE: '{"GB":0.2}' })).to.deep.equal(['PAYMENTS_DEFAULT_TAX_REGION: must be a region of PAYMENTS_TAX_TABLE']);
    expect(problemsOf({ PAYMENTS_TAX_TABLE: '{"GB":0.2}', PAYMENTS_DEFAULT_TAX_REGION: 'GB-SCT' })).to.deep.equal([]);
  });

  it('names every offending key on its own line', () => {
    const problems = problemsOf({ PORT: 'eighty', LOG_LEVEL: 'chatty', TEMPORAL_UI_URL: 'ftp://x', ASSET_DOWNLOAD_TTL_SECONDS: '7200' });
    expect(problems.map((p) => p.split(':')[0]).sort()).to.deep.equal(
      ['ASSET_DOWNLOAD_TTL_SECONDS', 'LOG_LEVEL', 'PORT', 'TEMPORAL_UI_URL'],
    );
    expect(problems.every((p) => !p.includes('\n'))).to.equal(true);
  });

  it('refuses public local defaults for secrets in production', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems.map((p) => p.split(':')[0])).to.include.members(['JWT_SECRET', 'S3_SECRET_ACCESS_KEY', 'STRIPE_WEBHOOK_SECRET', 'WEBHOOK_SECRET_KEY']);
    expect(problems.join('\n')).not.to.contain('edulure-local');
  });

  it('refuses to boot in production without CLAMD_HOST and METRICS_BEARER_TOKEN set, though locally clamd has a default', () => {
    expect(parseConfig({}).CLAMD_HOST).to.equal('127.0.0.1');
    const keysOf = (problems: string[]) => problems.map((p) => p.split(':')[0]);
    expect(keysOf(problemsOf({ NODE_ENV: 'production' }))).to.include.members(['CLAMD_HOST', 'METRICS_BEARER_TOKEN']);
    const secrets = {
      JWT_SECRET: 'a-production-secret-0123456789-abcdef',
      S3_SECRET_ACCESS_KEY: 's3-secret',
      STRIPE_WEBHOOK_SECRET: 'whsec_x',
      WEBHOOK_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
    };
    expect(problemsOf({ NODE_ENV: 'production', ...secrets, CLAMD_HOST: 'clamav', METRICS_BEARER_TOKEN: 'metrics-token' })).to.deep.equal([]);
    expect(problemsOf({ NODE_ENV: 'production', ...secrets, CLAMD_HOST: '127.0.0.1', METRICS_BEARER_TOKEN: 'metrics-token' })).to.deep.equal([]);
  });

  it('checks cron settings with the scheduler\'s own parser at boot, not at the first run', () => {
    const problems = problemsOf({ RELEASE_CHANGE_FREEZE_CRON: '61 16 * * 5', DATA_RETENTION_CRON: '0 3 * * 8', TELEMETRY_EXPORT_CRON: '*/10 * * * *' });
    expect(problems.map((p) => p.split(':')[0]).sort()).to.deep.equal(['DATA_RETENTION_CRON', 'RELEASE_CHANGE_FREEZE_CRON']);
  });

  it('checks signing keys at boot: 32-byte HS secrets, one known algorithm each, https key sets', () => {
    const problems = problemsOf({ JWT_SECRET: 'too-short-for-hs256', JWT_KEYS: JSON.stringify({ a: { alg: 'HS256', secret: 'short' } }) });
    expect(problems.map((p) => p.split(':')[0]).sort()).to.deep.equal(['JWT_KEYS', 'JWT_SECRET']);
    expect(problemsOf({ JWKS_URL: 'http://keys.example/jwks.json' }).map((p) => p.split(':')[0])).to.deep.equal(['JWKS_URL']);
    expect(problemsOf({ JWT_KEYS: JSON.stringify({ a: { alg: 'none', secret: 'x'.repeat(40) } }) })).to.have.length(1);
    expect(problemsOf({ JWT_KEYS: JSON.stringify({ a: { alg: 'RS256', publicKey: 'not a key' } }) })).to.have.length(1);
    expect(problemsOf({ JWT_KEYS: '[1,2]' })).to.deep.equal(['JWT_KEYS: must be a JSON object']);
  });

  it('bounds activities per task queue (WORKER_ACTIVITY_CONCURRENCY, assets 2 by default) and presigned uploads to 15 minutes', () => {
    expect(parseConfig({}).WORKER_ACTIVITY_CONCURRENCY).to.deep.equal({ assets: 2 });
    expect(parseConfig({ WORKER_ACTIVITY_CONCURRENCY: '{"assets":4,"payments":20}' }).WORKER_ACTIVITY_CONCURRENCY).to.deep.equal({ assets: 4, payments: 20 });
    for (const bad of ['[2]', '{"assets":0}', '{"assets":1.5}', 'assets=2']) {
      expect(problemsOf({ WORKER_ACTIVITY_CONCURRENCY: bad }).map((p) => p.split(':')[0]), bad).to.deep.equal(['WORKER_ACTIVITY_CONCURRENCY']);
    }
    expect(problemsOf({ ASSET_PRESIGN_TTL_MINUTES: '16' }).map((p) => p.split(':')[0])).to.deep.equal(['ASSET_PRESIGN_TTL_MINUTES']);
  });

  it('requires TLS certificate and key together', () => {
    expect(problemsOf({ TEMPORAL_TLS_CERT: '/tmp/cert.pem' })).to.have.length(1);
  });

  it('takes a CA for the cluster’s certificate only with mTLS, and the connection trusts it', () => {
    expect(problemsOf({ TEMPORAL_TLS_CA: '/tmp/ca.pem' })).to.deep.equal(['TEMPORAL_TLS_CA: only used with TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY (mTLS)']);
    const dir = mkdtempSync(path.join(tmpdir(), 'edulure-tls-'));
    for (const name of ['cert.pem', 'key.pem', 'ca.pem']) writeFileSync(path.join(dir, name), name);
    const tls = { TEMPORAL_TLS_CERT: path.join(dir, 'cert.pem'), TEMPORAL_TLS_KEY: path.join(dir, 'key.pem') };
    expect(problemsOf({ ...tls, TEMPORAL_TLS_CA: path.join(dir, 'ca.pem') })).to.deep.equal([]);
    const options = connectionOptions(parseConfig({ ...tls, TEMPORAL_TLS_CA: path.join(dir, 'ca.pem') })).tls as Record<string, unknown>;
    expect(String(options.serverRootCACertificate)).to.equal('ca.pem');
    expect(connectionOptions(parseConfig(tls)).tls).to.not.have.property('serverRootCACertificate');
    rmSync(dir, { recursive: true });
  });

  it('is documented: the README table lists every variable', () => {
    const readme = readFileSync(path.resolve(__dirname, '../../README.md'), 'utf8');
    const missing = describeConfig().filter(({ key }) => !readme.includes(`\`${key}\``)).map((c) => c.key);
    expect(missing).to.deep.equal([]);
  });
});
