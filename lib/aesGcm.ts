// AES-256-GCM sealing shared by every format that stores ciphertext (webhook secrets, Temporal payloads).
// Each caller keeps its own byte layout: stored values must stay readable, so this helper never packs.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const CIPHER = 'aes-256-gcm';
export const AES_GCM_IV_BYTES = 12;
export const AES_GCM_TAG_BYTES = 16;

export interface AesGcmSealed {
  iv: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

/** Encrypts under a fresh random IV; `aad` is authenticated but not encrypted. */
export function seal(key: Buffer, plain: Uint8Array, aad?: Uint8Array): AesGcmSealed {
  const iv = randomBytes(AES_GCM_IV_BYTES);
  const cipher = createCipheriv(CIPHER, key, iv, { authTagLength: AES_GCM_TAG_BYTES });
  if (aad) cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  return { iv, ciphertext, tag: cipher.getAuthTag() };
}

/** Decrypts and authenticates; throws when the key, IV, tag, ciphertext or `aad` do not match. */
export function open(key: Buffer, sealed: AesGcmSealed, aad?: Uint8Array): Buffer {
  // GCM would otherwise accept a truncated tag, which is far easier to forge.
  if (sealed.iv.length !== AES_GCM_IV_BYTES || sealed.tag.length !== AES_GCM_TAG_BYTES) {
    throw new Error('AES-GCM: IV or tag has the wrong length');
  }
  const decipher = createDecipheriv(CIPHER, key, sealed.iv, { authTagLength: AES_GCM_TAG_BYTES });
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(sealed.tag);
  return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
}
