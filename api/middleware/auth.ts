import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { forbidden, unauthorized } from '../../lib/errors';
import { Roles, type Role } from '../../schemas/common';

export interface Principal {
  sub: string;
  roles: Role[];
}

export const ANONYMOUS: Principal = { sub: 'anonymous', roles: [] };

export interface JwtSettings {
  JWT_SECRET: string;
  JWT_ISSUER: string;
  JWT_AUDIENCE: string;
}

const secretKeys = new Map<string, KeyObject>();

/**
 * The HS256 secret as a key object, made once: given a string, jsonwebtoken first tries
 * to parse it as a public key on every verification, and that failed parse cost about a
 * millisecond per request.
 */
function secretKey(secret: string): KeyObject {
  let key = secretKeys.get(secret);
  if (!key) {
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    secretKeys.set(secret, key);
  }
  return key;
}

/** Verifies `Authorization: Bearer <JWT>` (HS256, iss, aud, exp required) and returns who is calling. */
export function authenticate(header: string | undefined, settings: JwtSettings): Principal {
  const match = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header ?? '');
  if (!match) throw unauthorized('TOKEN_MISSING', 'a bearer token is required');
  let claims: jwt.JwtPayload;
  try {
    claims = jwt.verify(match[1], secretKey(settings.JWT_SECRET), {
      algorithms: ['HS256'],
      issuer: settings.JWT_ISSUER,
      audience: settings.JWT_AUDIENCE,
      complete: false,
    }) as jwt.JwtPayload;
  } catch (err) {
    const expired = err instanceof jwt.TokenExpiredError;
    throw unauthorized(expired ? 'TOKEN_EXPIRED' : 'TOKEN_INVALID', expired ? 'the token has expired' : 'the token is invalid');
  }
  if (typeof claims.exp !== 'number') throw unauthorized('TOKEN_INVALID', 'the token has no expiry');
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

export function mintToken(settings: JwtSettings, options: MintOptions): string {
  return jwt.sign({ roles: options.roles }, settings.JWT_SECRET, {
    algorithm: 'HS256',
    subject: options.sub,
    issuer: settings.JWT_ISSUER,
    audience: settings.JWT_AUDIENCE,
    expiresIn: options.expiresInSeconds,
  });
}
