// The keys bearer tokens are verified with, rotated without downtime (SPEC §3): JWT_KEYS names each key by
// `kid` with one fixed algorithm; JWKS_URL adds a key set fetched over https (cached, 5 s timeout); a
// token without a `kid` is verified with JWT_SECRET only while neither is configured.
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify, type CompactJWSHeaderParameters, type FlattenedJWSInput, type JWTPayload, type KeyObject as JoseKey } from 'jose';

export const JWT_ALGORITHMS = ['HS256', 'RS256', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** One entry of JWT_KEYS. */
export type JwtKeySpec = { alg: 'HS256'; secret: string } | { alg: 'RS256' | 'EdDSA'; publicKey: string };

/** HS secrets shorter than this are refused at boot. */
export const MIN_HS_SECRET_BYTES = 32;

export interface JwtVerificationSettings {
  JWT_SECRET: string;
  JWT_KEYS?: Readonly<Record<string, JwtKeySpec>>;
  JWKS_URL?: string;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
}

interface Key {
  alg: JwtAlgorithm;
  key: KeyObject;
}

const JWKS_TIMEOUT_MS = 5000;
/**
 * A verified token is remembered by its exact text (signature included) until it expires, at most this long:
 * a client sends the same token with every request, and jose verifies through WebCrypto's thread pool
 * (~1 ms of CPU per request under load). A JWKS key withdrawn from the set stops verifying within this time.
 */
const VERIFIED_TTL_MS = 60_000;
const VERIFIED_MAX = 10_000;

/** Why a JWT_KEYS value cannot be used (undefined when it can): checked once, at boot. */
export function jwtKeysProblem(keys: Record<string, unknown>): string | undefined {
  for (const [kid, spec] of Object.entries(keys)) {
    try {
      toKey(spec as JwtKeySpec);
    } catch (err) {
      return `key "${kid}": ${(err as Error).message}`;
    }
  }
  return undefined;
}

function toKey(spec: JwtKeySpec): Key {
  if (!JWT_ALGORITHMS.includes(spec.alg)) throw new Error(`alg must be one of ${JWT_ALGORITHMS.join(', ')}`);
  if (spec.alg === 'HS256') {
    if (typeof spec.secret !== 'string' || Buffer.byteLength(spec.secret) < MIN_HS_SECRET_BYTES) {
      throw new Error(`an HS256 secret needs at least ${MIN_HS_SECRET_BYTES} bytes`);
    }
    return { alg: spec.alg, key: createSecretKey(Buffer.from(spec.secret, 'utf8')) };
  }
  const key = createPublicKey(spec.publicKey);
  const expected = spec.alg === 'RS256' ? 'rsa' : 'ed25519';
  if (key.asymmetricKeyType !== expected) throw new Error(`${spec.alg} needs an ${expected} public key`);
  return { alg: spec.alg, key };
}

export class TokenRejected extends Error {
  constructor(
    readonly expired: boolean,
    message: string,
  ) {
    super(message);
  }
}

/** Verifies tokens against the configured keys; made once per configuration. */
export class JwtKeyRing {
  private readonly keys: Map<string, Key>;
  private readonly legacy: Key | undefined;
  private readonly jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  private readonly verified = new Map<string, { payload: JWTPayload; until: number }>();

  constructor(private readonly settings: JwtVerificationSettings) {
    this.keys = new Map(Object.entries(settings.JWT_KEYS ?? {}).map(([kid, spec]) => [kid, toKey(spec)]));
    this.jwks = settings.JWKS_URL ? createRemoteJWKSet(new URL(settings.JWKS_URL), { timeoutDuration: JWKS_TIMEOUT_MS }) : undefined;
    const rotating = this.keys.size > 0 || this.jwks !== undefined;
    this.legacy = rotating ? undefined : { alg: 'HS256', key: createSecretKey(Buffer.from(settings.JWT_SECRET, 'utf8')) };
  }

  /** The token's claims, or TokenRejected. A token's header `alg` must be its key's one algorithm. */
  async verify(token: string): Promise<JWTPayload> {
    const known = this.verified.get(token);
    if (known && Date.now() < known.until) return known.payload;
    this.verified.delete(token);
    const payload = await this.verifyAnew(token);
    if (this.verified.size >= VERIFIED_MAX) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, { payload, until: Math.min((payload.exp as number) * 1000, Date.now() + VERIFIED_TTL_MS) });
    return payload;
  }

  private async verifyAnew(token: string): Promise<JWTPayload> {
    try {
      const { payload } = await jwtVerify(token, (header, input) => this.keyFor(header, input), {
        issuer: this.settings.JWT_ISSUER,
        audience: this.settings.JWT_AUDIENCE,
        requiredClaims: ['exp', 'sub'],
      });
      return payload;
    } catch (err) {
      const expired = (err as { code?: string }).code === 'ERR_JWT_EXPIRED';
      throw new TokenRejected(expired, expired ? 'the token has expired' : 'the token is invalid');
    }
  }

  private async keyFor(header: CompactJWSHeaderParameters, input: FlattenedJWSInput): Promise<KeyObject | JoseKey> {
    const { kid, alg } = header;
    const known = kid === undefined ? this.legacy : this.keys.get(kid);
    if (known) {
      if (alg !== known.alg) throw new Error(`key ${kid ?? '(none)'} is for ${known.alg}, not ${alg}`);
      return known.key;
    }
    if (kid !== undefined && this.jwks) {
      if (!JWT_ALGORITHMS.includes(alg as JwtAlgorithm) || alg === 'HS256') throw new Error(`JWKS keys do not verify ${alg}`);
      return this.jwks(header, input);
    }
    throw new Error(`no key ${kid ?? '(none)'}`);
  }
}
