// Webhook signing secrets: generated as Standard Webhooks writes them, stored only
// encrypted (AES-256-GCM under WEBHOOK_SECRET_KEY), decrypted only by the delivery activity.
import { randomBytes } from 'node:crypto';
import { AES_GCM_IV_BYTES, AES_GCM_TAG_BYTES, open, seal } from '../../lib/aesGcm';

const SECRET_PREFIX = 'whsec_';
const FORMAT = 'v1';

/** `whsec_` + base64 of 32 random bytes. */
export const generateSecret = (): string => SECRET_PREFIX + randomBytes(32).toString('base64');

/** The bytes an HMAC is keyed with: the secret's base64 part, decoded. */
export const secretKeyBytes = (secret: string): Buffer => Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');

// Stored layout `v1:` + base64(iv | tag | ciphertext): rows already in Postgres depend on it.
export function encryptSecret(key: Buffer, secret: string): string {
  const { iv, ciphertext, tag } = seal(key, Buffer.from(secret, 'utf8'));
  return `${FORMAT}:${Buffer.concat([iv, tag, ciphertext]).toString('base64')}`;
}

export function decryptSecret(key: Buffer, stored: string): string {
  const [format, payload] = stored.split(':');
  if (format !== FORMAT || !payload) throw new Error('unknown webhook secret format');
  const raw = Buffer.from(payload, 'base64');
  const tagEnd = AES_GCM_IV_BYTES + AES_GCM_TAG_BYTES;
  const parts = { iv: raw.subarray(0, AES_GCM_IV_BYTES), tag: raw.subarray(AES_GCM_IV_BYTES, tagEnd), ciphertext: raw.subarray(tagEnd) };
  return open(key, parts).toString('utf8');
}
