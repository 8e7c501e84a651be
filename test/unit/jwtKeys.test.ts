import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { JwtKeyRing, TokenRejected } from '../../lib/jwtKeys';

const settings = { JWT_SECRET: 'unit-test-secret-of-at-least-32-bytes!!', JWT_ISSUER: 'edulure', JWT_AUDIENCE: 'edulure-api' };
const mint = (expiresIn: number, secret = settings.JWT_SECRET) =>
  jwt.sign({ roles: ['admin'] }, secret, { algorithm: 'HS256', subject: 'unit', issuer: settings.JWT_ISSUER, audience: settings.JWT_AUDIENCE, expiresIn });

async function rejection(ring: JwtKeyRing, token: string): Promise<TokenRejected> {
  const err: unknown = await ring.verify(token).then(() => undefined, (e: unknown) => e);
  expect(err).to.be.instanceOf(TokenRejected);
  return err as TokenRejected;
}

describe('JwtKeyRing: tokens it already verified', () => {
  it('answers the same claims for the same token', async () => {
    const ring = new JwtKeyRing(settings);
    const token = mint(600);
    const first = await ring.verify(token);
    expect(await ring.verify(token)).to.deep.equal(first);
    expect(first.sub).to.equal('unit');
  });

  it('still rejects a token that differs only in its signature', async () => {
    const ring = new JwtKeyRing(settings);
    const token = mint(600);
    await ring.verify(token);
    const [header, body] = token.split('.');
    const forged = `${header}.${body}.${mint(600, 'another-secret-of-at-least-32-bytes!!!').split('.')[2]}`;
    expect((await rejection(ring, forged)).expired).to.equal(false);
  });

  it('rejects a remembered token as expired once its exp has passed', async () => {
    const ring = new JwtKeyRing(settings);
    const token = mint(1);
    await ring.verify(token);
    const exp = (jwt.decode(token) as { exp: number }).exp * 1000;
    await new Promise((resolve) => setTimeout(resolve, exp - Date.now() + 50));
    expect((await rejection(ring, token)).expired).to.equal(true);
  });
});
