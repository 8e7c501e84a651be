// Signing keys rotate without downtime (SPEC §3): tokens verified by `kid` with each key's one
// algorithm, a retired key refused, an RS256 key never accepted as an HMAC secret, a key set from
// JWKS_URL over https, and two Stripe webhook secrets while Stripe rolls one.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK } from 'jose';
import { signToken } from '../../lib/jwtSigning';
import { call, tokenFor } from '../support/http';
import { postWebhook, stripeEvent } from '../support/payments';
import { shared, startApi } from '../support/shared';
import { killHard, startApiProcess } from '../support/workerProcess';

const secret = () => randomBytes(32).toString('base64url');
const pem = (key: { export(o: object): string | Buffer }, type: 'spki' | 'pkcs8') => String(key.export({ type, format: 'pem' }));

describe('signing keys and their rotation (SPEC §3)', function () {
  this.timeout(60_000);
  const { config } = shared();
  const sign = (key: string, kid: string | undefined) =>
    signToken({ key, kid, issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE }, { sub: 'rotation-test', roles: ['admin'], expiresInSeconds: 300 });
  const statusWith = async (apiUrl: string, token: string) => (await call(apiUrl, 'GET', '/api/v1/assets?limit=1', { token })).status;

  it('accepts the old and the new key during the overlap, then refuses the retired one', async () => {
    const [oldSecret, newSecret] = [secret(), secret()];
    const oldToken = await sign(oldSecret, '2026-11');
    const newToken = await sign(newSecret, '2026-12');
    const overlap = await startApi({ JWT_KEYS: { '2026-11': { alg: 'HS256', secret: oldSecret }, '2026-12': { alg: 'HS256', secret: newSecret } } });
    expect(await statusWith(overlap.url, oldToken)).to.equal(200);
    expect(await statusWith(overlap.url, newToken)).to.equal(200);

    const rotated = await startApi({ JWT_KEYS: { '2026-12': { alg: 'HS256', secret: newSecret } } });
    expect(await statusWith(rotated.url, newToken)).to.equal(200);
    expect(await statusWith(rotated.url, oldToken)).to.equal(401);
    expect(await statusWith(rotated.url, tokenFor('admin')), 'no kid: JWT_SECRET is off once keys are configured').to.equal(401);
  });

  it('verifies RS256 and EdDSA tokens by kid, and refuses an RS256 public key used as an HMAC secret', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ed = generateKeyPairSync('ed25519');
    const api = await startApi({
      JWT_KEYS: { rs: { alg: 'RS256', publicKey: pem(rsa.publicKey, 'spki') }, ed: { alg: 'EdDSA', publicKey: pem(ed.publicKey, 'spki') } },
    });
    expect(await statusWith(api.url, await sign(pem(rsa.privateKey, 'pkcs8'), 'rs'))).to.equal(200);
    expect(await statusWith(api.url, await sign(pem(ed.privateKey, 'pkcs8'), 'ed'))).to.equal(200);
    expect(await statusWith(api.url, await sign(pem(ed.privateKey, 'pkcs8'), 'rs')), 'an EdDSA token under the RS256 kid').to.equal(401);

    // The classic confusion: HS256 "signed" with the RSA public key as the HMAC secret.
    const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${encode({ alg: 'HS256', kid: 'rs', typ: 'JWT' })}.${encode({
      sub: 'forger', roles: ['admin'], iss: config.JWT_ISSUER, aud: config.JWT_AUDIENCE, iat: now, exp: now + 300,
    })}`;
    const forged = `${unsigned}.${createHmac('sha256', pem(rsa.publicKey, 'spki')).update(unsigned).digest('base64url')}`;
    const res = await call(api.url, 'GET', '/api/v1/assets?limit=1', { token: forged });
    expect(res.status).to.equal(401);
    expect(res.body.code).to.equal('TOKEN_INVALID');
  });

  it('verifies tokens with a key set fetched from JWKS_URL over https', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'jwks-'));
    const [keyFile, certFile] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
    const ed = generateKeyPairSync('ed25519');
    const jwks = { keys: [{ ...(await exportJWK(ed.publicKey)), kid: 'jwks-ed', alg: 'EdDSA', use: 'sig' }] };
    const server = createServer({ key: readFileSync(keyFile), cert: readFileSync(certFile) }, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(jwks));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const api = await startApiProcess({
      JWKS_URL: `https://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`,
      NODE_EXTRA_CA_CERTS: certFile,
    });
    try {
      expect(await statusWith(api.url, await sign(pem(ed.privateKey, 'pkcs8'), 'jwks-ed'))).to.equal(200);
      expect(await statusWith(api.url, await sign(pem(ed.privateKey, 'pkcs8'), 'unknown-kid'))).to.equal(401);
    } finally {
      await killHard(api.child);
      server.close();
    }
  });

  it('accepts webhooks signed with either secret while Stripe rolls one, and no other', async () => {
    const api = await startApi({ STRIPE_WEBHOOK_SECRET: ['whsec_rolling_old', 'whsec_rolling_new'] });
    for (const signing of ['whsec_rolling_old', 'whsec_rolling_new']) {
      const res = await postWebhook(api.url, stripeEvent('customer.created', null), { secret: signing });
      expect(res.status, signing).to.equal(200);
    }
    const refused = await postWebhook(api.url, stripeEvent('customer.created', null), { secret: 'whsec_someone_else' });
    expect(refused.status).to.equal(400);
  });
});
