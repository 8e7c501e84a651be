import { Type, type Static } from '@sinclair/typebox';

/** Base64 (standard or URL-safe, as protobuf's JSON mapping allows). */
const Base64 = Type.String({ pattern: '^[A-Za-z0-9+/_-]*={0,2}$', maxLength: 1_048_576 });

/** A Temporal payload in protobuf's JSON mapping: metadata values and data in base64. */
export const JsonPayload = Type.Object({
  metadata: Type.Optional(Type.Record(Type.String({ maxLength: 256 }), Base64)),
  data: Type.Optional(Base64),
});
export type JsonPayload = Static<typeof JsonPayload>;

/** Temporal's codec-server protocol: the body of `/encode` and `/decode`, and of their answers. */
export const CodecPayloads = Type.Object(
  { payloads: Type.Array(JsonPayload, { maxItems: 1000 }) },
  { additionalProperties: false },
);
export type CodecPayloads = Static<typeof CodecPayloads>;
