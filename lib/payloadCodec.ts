// Encrypted histories (SPEC §3): every payload AES-256-GCM encrypted by key id, so Temporal's histories,
// memos and summaries hold no customer data in plain text. Keys rotate: the active key encrypts, every
// configured key decrypts, and the key id travels in each payload's metadata.
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { AES_GCM_IV_BYTES, AES_GCM_TAG_BYTES, open, seal } from './aesGcm';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA_KEY = 'encryption-key-id';
export const PAYLOAD_KEY_BYTES = 32;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A payload the codec cannot decrypt: an unknown key id, or data that fails authentication. */
export class PayloadDecryptionError extends Error {
  constructor(
    readonly code: 'PAYLOAD_KEY_UNKNOWN' | 'PAYLOAD_UNDECRYPTABLE',
    message: string,
  ) {
    super(message);
    this.name = 'PayloadDecryptionError';
  }
}

/** Why a TEMPORAL_PAYLOAD_KEYS value cannot be used (undefined when it can): checked once, at boot. */
export function payloadKeysProblem(keys: Record<string, unknown>): string | undefined {
  if (Object.keys(keys).length === 0) return 'must name at least one key';
  for (const [kid, value] of Object.entries(keys)) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(kid)) return `key id "${kid}" must be 1–64 of [A-Za-z0-9._-]`;
    if (typeof value !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(value) || Buffer.from(value, 'base64').length !== PAYLOAD_KEY_BYTES) {
      return `key "${kid}" must be ${PAYLOAD_KEY_BYTES} bytes in base64`;
    }
  }
  return undefined;
}

const isEncrypted = (payload: Payload) => decoder.decode(payload.metadata?.[METADATA_ENCODING_KEY]) === ENCRYPTED_ENCODING;

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(
    keys: Readonly<Record<string, string>>,
    readonly activeKeyId: string,
  ) {
    this.keys = new Map(Object.entries(keys).map(([kid, base64]) => [kid, Buffer.from(base64, 'base64')]));
    if (!this.keys.has(activeKeyId)) throw new Error(`active payload key "${activeKeyId}" is not among the configured keys`);
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(payloads.map((payload) => this.encrypt(payload)));
  }

  /** Plain payloads pass through: histories written before the codec was on stay readable. */
  decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.resolve(payloads.map((payload) => (isEncrypted(payload) ? this.decrypt(payload) : payload)));
  }

  // Stored layout iv | ciphertext | tag: histories already in Temporal depend on it.
  private encrypt(payload: Payload): Payload {
    const kid = this.activeKeyId;
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    // The key id is authenticated too: a payload relabelled with another key id does not decrypt.
    const { iv, ciphertext, tag } = seal(this.key(kid), plain, encoder.encode(kid));
    return {
      metadata: { [METADATA_ENCODING_KEY]: encoder.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA_KEY]: encoder.encode(kid) },
      data: Buffer.concat([iv, ciphertext, tag]),
    };
  }

  private decrypt(payload: Payload): Payload {
    const kid = decoder.decode(payload.metadata?.[KEY_ID_METADATA_KEY]);
    const sealed = Buffer.from(payload.data ?? new Uint8Array());
    if (sealed.length < AES_GCM_IV_BYTES + AES_GCM_TAG_BYTES) throw new PayloadDecryptionError('PAYLOAD_UNDECRYPTABLE', 'encrypted payload is truncated');
    const key = this.key(kid);
    const tagStart = sealed.length - AES_GCM_TAG_BYTES;
    const parts = { iv: sealed.subarray(0, AES_GCM_IV_BYTES), ciphertext: sealed.subarray(AES_GCM_IV_BYTES, tagStart), tag: sealed.subarray(tagStart) };
    let plain: Buffer;
    try {
      plain = open(key, parts, encoder.encode(kid));
    } catch {
      throw new PayloadDecryptionError('PAYLOAD_UNDECRYPTABLE', `payload encrypted with key "${kid}" fails authentication (tampered, or another key under that id)`);
    }
    return temporal.api.common.v1.Payload.decode(plain);
  }

  private key(kid: string): Buffer {
    const key = this.keys.get(kid);
    if (!key) {
      const known = [...this.keys.keys()].join(', ');
      throw new PayloadDecryptionError('PAYLOAD_KEY_UNKNOWN', `payload encrypted with key id "${kid}", which is not in TEMPORAL_PAYLOAD_KEYS (${known})`);
    }
    return key;
  }
}
