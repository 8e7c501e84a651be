// The one data converter of every Temporal client and worker (API, workers, scripts, replays): the
// default one while payload encryption is off, the AES-256-GCM codec of SPEC §3 when it is on.
import type { DataConverter } from '@temporalio/common';
import type { Config } from './config';
import { AesGcmPayloadCodec } from './payloadCodec';

export type PayloadEncryptionSettings = Pick<Config, 'TEMPORAL_PAYLOAD_KEYS' | 'TEMPORAL_PAYLOAD_ACTIVE_KEY'>;

export const payloadEncryptionOn = (settings: PayloadEncryptionSettings): boolean =>
  settings.TEMPORAL_PAYLOAD_KEYS !== undefined && settings.TEMPORAL_PAYLOAD_ACTIVE_KEY !== undefined;

const codecs = new WeakMap<PayloadEncryptionSettings, AesGcmPayloadCodec>();

/** The codec of these (boot-validated) settings, or undefined while encryption is off. */
export function payloadCodecOf(settings: PayloadEncryptionSettings): AesGcmPayloadCodec | undefined {
  if (!settings.TEMPORAL_PAYLOAD_KEYS || !settings.TEMPORAL_PAYLOAD_ACTIVE_KEY) return undefined;
  let codec = codecs.get(settings);
  if (!codec) {
    codec = new AesGcmPayloadCodec(JSON.parse(settings.TEMPORAL_PAYLOAD_KEYS) as Record<string, string>, settings.TEMPORAL_PAYLOAD_ACTIVE_KEY);
    codecs.set(settings, codec);
  }
  return codec;
}

/** What clients, workers and replays pass as `dataConverter` (undefined: the SDK's default). */
export function dataConverterOf(settings: PayloadEncryptionSettings): DataConverter | undefined {
  const codec = payloadCodecOf(settings);
  if (!codec) return undefined;
  return { payloadCodecs: [codec], failureConverterPath: require.resolve('./encryptedFailures') };
}

/** A start summary as SPEC §3 wants it: with encryption on, only the record's id, never names or customers. */
export const startSummary = (settings: PayloadEncryptionSettings, detailed: string, idsOnly: string): string =>
  payloadEncryptionOn(settings) ? idsOnly : detailed;
