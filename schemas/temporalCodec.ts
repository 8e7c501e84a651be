import { Type, type Static } from '@sinclair/typebox';

/** Base64 (standard or URL-safe, as protobuf's JSON mapping allows). */
const Base64 = Type.String({ pattern: '^[A-Za-z0-9+/_-]*={0,2}$', maxLength: 1_048_576 });

/** A Temporal payload in protobuf's JSON mapping: metadata values and data in base64. */
export const JsonPayload = Type.Object({
  // [\s\S], not `.`: a key with a line break would otherwise escape the value's check (Schemathesis found it).
  metadata: Type.Optional(Type.Record(Type.String({ pattern: '^[\\s\\S]{0,256}$' }), Base64, { additionalProperties: false })),
  data: Type.Optional(Base64),
});
export type JsonPayload = Static<typeof JsonPayload>;

/** Temporal's codec-server protocol: the answer of `/encode` and `/decode`. */
export const CodecPayloads = Type.Object({ payloads: Type.Array(JsonPayload) });
export type CodecPayloads = Static<typeof CodecPayloads>;

/** Their body: protobuf's JSON leaves out an empty list, so `{}` (the CLI sends it) means none. */
export const CodecRequest = Type.Object(
  { payloads: Type.Optional(Type.Array(JsonPayload, { maxItems: 1000 })) },
  { additionalProperties: false },
);
export type CodecRequest = Static<typeof CodecRequest>;
