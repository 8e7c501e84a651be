// The codec server of the Temporal UI and CLI (SPEC §3): payloads in protobuf's JSON mapping, encrypted or
// decrypted with the platform's own codec. With encryption off it is the identity, as the SDK's default is.
import type { Payload, PayloadCodec } from '@temporalio/common';
import { unprocessable } from '../lib/errors';
import { PayloadDecryptionError } from '../lib/payloadCodec';
import type { CodecPayloads, CodecRequest, JsonPayload } from '../schemas/temporalCodec';

const fromJson = ({ metadata, data }: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64')])),
  data: Buffer.from(data ?? '', 'base64'),
});

const toJson = ({ metadata, data }: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(metadata ?? {}).map(([key, value]) => [key, Buffer.from(value ?? []).toString('base64')])),
  data: Buffer.from(data ?? []).toString('base64'),
});

async function run(call: (payloads: Payload[]) => Promise<Payload[]>, body: CodecRequest): Promise<CodecPayloads> {
  try {
    return { payloads: (await call((body.payloads ?? []).map(fromJson))).map(toJson) };
  } catch (err) {
    if (err instanceof PayloadDecryptionError) throw unprocessable(err.code, err.message);
    throw err;
  }
}

const identity = (payloads: Payload[]) => Promise.resolve(payloads);

export const encodePayloads = (codec: PayloadCodec | undefined, body: CodecRequest) =>
  run(codec ? (p) => codec.encode(p) : identity, body);

export const decodePayloads = (codec: PayloadCodec | undefined, body: CodecRequest) =>
  run(codec ? (p) => codec.decode(p) : identity, body);
