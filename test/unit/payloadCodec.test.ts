import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { ConfigError, parseConfig } from '../../lib/config';
import { dataConverterOf, payloadCodecOf, startSummary } from '../../lib/dataConverter';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA_KEY, PayloadDecryptionError } from '../../lib/payloadCodec';

const key = () => randomBytes(32).toString('base64');
const text = (bytes: Uint8Array | null | undefined) => new TextDecoder().decode(bytes ?? new Uint8Array());
const customer = { customerId: 'cus_plaintext_4242', filename: 'salaries-2026.xlsx' };

async function decryptionError(codec: AesGcmPayloadCodec, payload: Payload): Promise<PayloadDecryptionError> {
  try {
    await codec.decode([payload]);
  } catch (err) {
    expect(err).to.be.instanceOf(PayloadDecryptionError);
    return err as PayloadDecryptionError;
  }
  throw new Error('decode succeeded');
}

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    parseConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe('payload codec: AES-256-GCM by key id (SPEC §3)', () => {
  const keys = { k1: key(), k2: key() };

  it('round-trips a payload, with the encoding and key id in the metadata and no plain text in the data', async () => {
    const codec = new AesGcmPayloadCodec(keys, 'k1');
    const plain = defaultPayloadConverter.toPayload(customer);
    const [encrypted] = await codec.encode([plain]);
    expect(text(encrypted.metadata?.[METADATA_ENCODING_KEY])).to.equal(ENCRYPTED_ENCODING);
    expect(text(encrypted.metadata?.[KEY_ID_METADATA_KEY])).to.equal('k1');
    expect(Buffer.from(encrypted.data ?? []).toString('latin1')).to.not.include(customer.customerId);
    const [decoded] = await codec.decode([encrypted]);
    expect(defaultPayloadConverter.fromPayload(decoded)).to.deep.equal(customer);
  });

  it('uses a fresh IV each time: one value encrypts to different data', async () => {
    const codec = new AesGcmPayloadCodec(keys, 'k1');
    const plain = defaultPayloadConverter.toPayload(customer);
    const [a, b] = await codec.encode([plain, plain]);
    expect(Buffer.from(a.data ?? []).equals(Buffer.from(b.data ?? []))).to.equal(false);
  });

  it('rotates: payloads of the old key still decode after the new key becomes active', async () => {
    const [old] = await new AesGcmPayloadCodec(keys, 'k1').encode([defaultPayloadConverter.toPayload(customer)]);
    const rotated = new AesGcmPayloadCodec(keys, 'k2');
    const [fresh] = await rotated.encode([defaultPayloadConverter.toPayload(customer)]);
    expect(text(fresh.metadata?.[KEY_ID_METADATA_KEY])).to.equal('k2');
    const decoded = await rotated.decode([old, fresh]);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).to.deep.equal([customer, customer]);
  });

  it('passes plain payloads through on decode (histories from before the codec was on)', async () => {
    const plain = defaultPayloadConverter.toPayload(customer);
    const [decoded] = await new AesGcmPayloadCodec(keys, 'k1').decode([plain]);
    expect(decoded).to.equal(plain);
  });

  it('refuses tampered data, and a payload relabelled with another key id', async () => {
    const codec = new AesGcmPayloadCodec(keys, 'k1');
    const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload(customer)]);
    const tampered = Buffer.from(encrypted.data ?? []);
    tampered[20] ^= 1;
    expect((await decryptionError(codec, { ...encrypted, data: tampered })).code).to.equal('PAYLOAD_UNDECRYPTABLE');
    const relabelled = { ...encrypted, metadata: { ...encrypted.metadata, [KEY_ID_METADATA_KEY]: new TextEncoder().encode('k2') } };
    expect((await decryptionError(codec, relabelled)).code).to.equal('PAYLOAD_UNDECRYPTABLE');
    expect((await decryptionError(codec, { ...encrypted, data: tampered.subarray(0, 10) })).code).to.equal('PAYLOAD_UNDECRYPTABLE');
  });

  it('names an unknown key id clearly', async () => {
    const [encrypted] = await new AesGcmPayloadCodec({ retired: key() }, 'retired').encode([defaultPayloadConverter.toPayload(1)]);
    const err = await decryptionError(new AesGcmPayloadCodec(keys, 'k1'), encrypted);
    expect(err.code).to.equal('PAYLOAD_KEY_UNKNOWN');
    expect(err.message).to.include('"retired"').and.include('TEMPORAL_PAYLOAD_KEYS');
  });
});

describe('payload encryption settings (validated once at boot)', () => {
  const keys = JSON.stringify({ k1: key() });

  it('is off by default: the SDK default converter and detailed summaries', () => {
    const config = parseConfig({});
    expect(dataConverterOf(config)).to.equal(undefined);
    expect(startSummary(config, 'Convert pdf "a.pdf"', 'Convert asset 1')).to.equal('Convert pdf "a.pdf"');
  });

  it('is on with both settings: the codec, encrypted failure text, ids-only summaries', () => {
    const config = parseConfig({ TEMPORAL_PAYLOAD_KEYS: keys, TEMPORAL_PAYLOAD_ACTIVE_KEY: 'k1' });
    expect(dataConverterOf(config)?.payloadCodecs).to.deep.equal([payloadCodecOf(config)]);
    expect(dataConverterOf(config)?.failureConverterPath).to.match(/encryptedFailures/);
    expect(startSummary(config, 'Convert pdf "a.pdf"', 'Convert asset 1')).to.equal('Convert asset 1');
  });

  it('refuses half a configuration, bad keys and an active key that is not configured', () => {
    expect(problemsOf({ TEMPORAL_PAYLOAD_KEYS: keys })).to.deep.equal(['TEMPORAL_PAYLOAD_KEYS: TEMPORAL_PAYLOAD_KEYS and TEMPORAL_PAYLOAD_ACTIVE_KEY go together']);
    expect(problemsOf({ TEMPORAL_PAYLOAD_KEYS: '[1]', TEMPORAL_PAYLOAD_ACTIVE_KEY: 'k1' })[0]).to.match(/^TEMPORAL_PAYLOAD_KEYS: must be a JSON object/);
    const short = JSON.stringify({ k1: randomBytes(16).toString('base64') });
    expect(problemsOf({ TEMPORAL_PAYLOAD_KEYS: short, TEMPORAL_PAYLOAD_ACTIVE_KEY: 'k1' })[0]).to.match(/key "k1" must be 32 bytes/);
    expect(problemsOf({ TEMPORAL_PAYLOAD_KEYS: keys, TEMPORAL_PAYLOAD_ACTIVE_KEY: 'k9' })[0]).to.match(/^TEMPORAL_PAYLOAD_ACTIVE_KEY: "k9" is not a key id/);
  });
});
