import type { JWTPayload } from 'jose';
import jwt from 'jsonwebtoken';
import { JwtKeyRing, TokenRejected, type JwtVerificationSettings } from '../../lib/jwtKeys';
import { forbidden, unauthorized } from '../../lib/errors';
import { Roles, type Role } from '../../schemas/common';

export interface Principal {
  sub: string;
  roles: Role[];
}

export const ANONYMOUS: Principal = { sub: 'anonymous', roles: [] };

export type JwtSettings = JwtVerificationSettings;

const keyRings = new WeakMap<JwtSettings, JwtKeyRing>();

/** The key ring of these settings, made once (keys parsed, the JWKS client and its cache kept). */
function keyRingOf(settings: JwtSettings): JwtKeyRing {
  let ring = keyRings.get(settings);
  if (!ring) {
    ring = new JwtKeyRing(settings);
    keyRings.set(settings, ring);
  }
  return ring;
}

/**
 * Verifies `Authorization: Bearer <JWT>` against the configured keys (iss, aud, exp and sub required; the
 * header's alg must be its key's) and returns who is calling.
 */
export async function authenticate(header: string | undefined, settings: JwtSettings): Promise<Principal> {
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header ?? '');
  if (!match) throw unauthorized('TOKEN_MISSING', 'a bearer token is required');
  let claims: JWTPayload;
  try {
    claims = await keyRingOf(settings).verify(match[1]);
  } catch (err) {
    const expired = err instanceof TokenRejected && err.expired;
    throw unauthorized(expired ? 'TOKEN_EXPIRED' : 'TOKEN_INVALID', expired ? 'the token has expired' : 'the token is invalid');
  }
  if (typeof claims.sub !== 'string' || claims.sub.length === 0) throw unauthorized('TOKEN_INVALID', 'the token has no subject');
  const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is Role => Roles.includes(r as Role)) : [];
  return { sub: claims.sub, roles };
}

export function requireRole(principal: Principal, allowed: readonly Role[]): void {
  if (!principal.roles.some((r) => allowed.includes(r))) {
    throw forbidden('ROLE_REQUIRED', `this action needs one of the roles: ${allowed.join(', ')}`);
  }
}

export const hasRole = (principal: Principal, ...roles: Role[]) => principal.roles.some((r) => roles.includes(r));

export interface MintOptions {
  sub: string;
  roles: Role[];
  expiresInSeconds: number;
}

/** A token signed with JWT_SECRET (HS256, no kid): for tests and local use while no JWT_KEYS are set. */
export function mintToken(settings: JwtSettings, options: MintOptions): string {
  return jwt.sign({ roles: options.roles }, settings.JWT_SECRET, {
    algorithm: 'HS256',
    subject: options.sub,
    issuer: settings.JWT_ISSUER,
    audience: settings.JWT_AUDIENCE,
    expiresIn: options.expiresInSeconds,
  });
}
