// Signing bearer tokens with the active key (`npm run token`): an HS secret, or a private key whose type
// gives the algorithm (RSA → RS256, Ed25519 → EdDSA); the token names the key by its kid.
import { createPrivateKey, createSecretKey, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import type { JwtAlgorithm } from './jwtKeys';

export interface SigningKey {
  /** An HS secret, or a private key in PEM. */
  key: string;
  kid?: string;
  issuer: string;
  audience: string;
}

export interface TokenClaims {
  sub: string;
  roles: string[];
  expiresInSeconds: number;
}

function signingKey(key: string): { alg: JwtAlgorithm; key: KeyObject } {
  if (!key.includes('-----BEGIN')) return { alg: 'HS256', key: createSecretKey(Buffer.from(key, 'utf8')) };
  const privateKey = createPrivateKey(key);
  if (privateKey.asymmetricKeyType === 'rsa') return { alg: 'RS256', key: privateKey };
  if (privateKey.asymmetricKeyType === 'ed25519') return { alg: 'EdDSA', key: privateKey };
  throw new Error(`JWT_SIGNING_KEY: ${privateKey.asymmetricKeyType} keys are not used here (RSA or Ed25519)`);
}

export function signToken(signing: SigningKey, claims: TokenClaims): Promise<string> {
  const { alg, key } = signingKey(signing.key);
  return new SignJWT({ roles: claims.roles })
    .setProtectedHeader({ alg, ...(signing.kid ? { kid: signing.kid } : {}) })
    .setSubject(claims.sub)
    .setIssuer(signing.issuer)
    .setAudience(signing.audience)
    .setIssuedAt()
    .setExpirationTime(`${claims.expiresInSeconds}s`)
    .sign(key);
}
