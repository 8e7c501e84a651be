import { defaultPayloadConverter, METADATA_ENCODING_KEY } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { AES_GCM_IV_BYTES, AES_GCM_TAG_BYTES, open, seal, type AesGcmSealed } from '../../lib/aesGcm';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA_KEY } from '../../lib/payloadCodec';
import { decryptSecret, encryptSecret } from '../../services/notifications/secrets';

const flipped = (bytes: Buffer, at = 0) => {
  const copy = Buffer.from(bytes);
  copy[at] ^= 1;
  return copy;
};

describe('AES-256-GCM helper', () => {
  const key = randomBytes(32);
  const plain = Buffer.from('whsec_not-a-real-secret', 'utf8');
  const aad = Buffer.from('k1');

  it('round-trips, with and without additional data, under 12-byte IVs and 16-byte tags', () => {
    const sealed = seal(key, plain, aad);
    expect(sealed.iv.length).to.equal(AES_GCM_IV_BYTES);
    expect(sealed.tag.length).to.equal(AES_GCM_TAG_BYTES);
    expect(sealed.ciphertext.equals(plain)).to.equal(false);
    expect(open(key, sealed, aad).equals(plain)).to.equal(true);
    expect(open(key, seal(key, plain)).equals(plain)).to.equal(true);
  });

  it('uses a fresh IV each time', () => {
    const [a, b] = [seal(key, plain), seal(key, plain)];
    expect(a.iv.equals(b.iv)).to.equal(false);
    expect(a.ciphertext.equals(b.ciphertext)).to.equal(false);
  });

  it('refuses a tampered tag, ciphertext, IV or additional data, and a wrong key', () => {
    const sealed = seal(key, plain, aad);
    const refused: [string, () => unknown][] = [
      ['tag', () => open(key, { ...sealed, tag: flipped(sealed.tag) }, aad)],
      ['ciphertext', () => open(key, { ...sealed, ciphertext: flipped(sealed.ciphertext, 3) }, aad)],
      ['iv', () => open(key, { ...sealed, iv: flipped(sealed.iv) }, aad)],
      ['aad', () => open(key, sealed, Buffer.from('k2'))],
      ['missing aad', () => open(key, sealed)],
      ['wrong key', () => open(randomBytes(32), sealed, aad)],
    ];
    for (const [what, attempt] of refused) expect(attempt, what).to.throw();
  });

  it('refuses a truncated tag (GCM would otherwise check only its first bytes)', () => {
    const sealed: AesGcmSealed = seal(key, plain);
    expect(() => open(key, { ...sealed, tag: sealed.tag.subarray(0, 4) })).to.throw(/wrong length/);
    expect(() => open(key, { ...sealed, iv: sealed.iv.subarray(0, 8) })).to.throw(/wrong length/);
  });
});

// Samples written by the code before the shared helper: stored values must keep opening.
describe('stored AES-GCM formats stay readable and unchanged', () => {
  const webhookKey = Buffer.from('BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=', 'base64');
  const webhookSecret = 'whsec_QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=';
  const storedSecret = 'v1:SN55sExqiGi7rVacqOc9bhX2hxIucl8DMh4RxWm/fHlpbI8TDFnOpp7PUSLthTVGZNSeEsU/ommhcauxrbo6nSgjv+Efy+njUls91f8g';
  const payloadKeys = { 'legacy-2026': 'CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=' };
  const storedPayload = {
    metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID_METADATA_KEY]: Buffer.from('legacy-2026') },
    data: Buffer.from('CinrHkld2okVlkFD21lOIuzha9kKLPPI1A0GkqDmS8ghY8ChSFwS8wjdvl28qj21V55S0FoeeQ/TRrIt1JoZ8fucz+rEQ3Tsp4N533RsmkD0ruyqbAw=', 'base64'),
  };
  const codec = new AesGcmPayloadCodec(payloadKeys, 'legacy-2026');

  it('opens a v1: webhook secret sealed by the earlier code', () => {
    expect(decryptSecret(webhookKey, storedSecret)).to.equal(webhookSecret);
  });

  it('writes webhook secrets as v1: + base64(iv | tag | ciphertext)', () => {
    const written = encryptSecret(webhookKey, webhookSecret);
    expect(written.startsWith('v1:')).to.equal(true);
    const raw = Buffer.from(written.slice(3), 'base64');
    const tagEnd = AES_GCM_IV_BYTES + AES_GCM_TAG_BYTES;
    const parts = { iv: raw.subarray(0, AES_GCM_IV_BYTES), tag: raw.subarray(AES_GCM_IV_BYTES, tagEnd), ciphertext: raw.subarray(tagEnd) };
    expect(open(webhookKey, parts).toString('utf8')).to.equal(webhookSecret);
  });

  it('opens a Temporal payload encrypted by the earlier codec', async () => {
    const [decoded] = await codec.decode([storedPayload]);
    expect(defaultPayloadConverter.fromPayload(decoded)).to.deep.equal({ customerId: 'cus_sample_4242' });
  });

  it('writes payloads as iv | ciphertext | tag with the key id as additional data', async () => {
    const [written] = await codec.encode([defaultPayloadConverter.toPayload({ customerId: 'cus_sample_4242' })]);
    const data = Buffer.from(written.data ?? []);
    const tagStart = data.length - AES_GCM_TAG_BYTES;
    const parts = { iv: data.subarray(0, AES_GCM_IV_BYTES), ciphertext: data.subarray(AES_GCM_IV_BYTES, tagStart), tag: data.subarray(tagStart) };
    const plain = open(Buffer.from(payloadKeys['legacy-2026'], 'base64'), parts, Buffer.from('legacy-2026'));
    expect(defaultPayloadConverter.fromPayload(temporal.api.common.v1.Payload.decode(plain))).to.deep.equal({ customerId: 'cus_sample_4242' });
  });
});
