import { payloadCodecOf } from '../../lib/dataConverter';
import { CodecPayloads, CodecRequest } from '../../schemas/temporalCodec';
import { decodePayloads, encodePayloads } from '../../services/temporalCodec';
import { defineRoute } from '../route';

const CODEC_USERS = ['operator', 'support', 'admin'] as const;

const codecRoute = (direction: 'encode' | 'decode') =>
  defineRoute({
    method: 'post',
    path: `/api/v1/temporal-codec/${direction}`,
    summary: direction === 'decode'
      ? 'Temporal codec server: decrypt payloads for the Temporal UI or CLI (plain payloads pass through)'
      : 'Temporal codec server: encrypt payloads with the active key (unchanged while payload encryption is off)',
    tag: 'runs',
    access: CODEC_USERS,
    rateGroup: 'temporal-codec',
    headers: [{ name: 'X-Namespace', required: false, description: 'the namespace the Temporal UI asks for (one codec serves it)' }],
    body: CodecRequest,
    responses: {
      200: { description: `the ${direction}d payloads, in the order sent`, schema: CodecPayloads },
      422: { description: 'a payload encrypted with a key id not configured (PAYLOAD_KEY_UNKNOWN), or that fails authentication (PAYLOAD_UNDECRYPTABLE)' },
    },
    handler: async ({ body, deps }) => {
      const codec = payloadCodecOf(deps.config);
      return { status: 200, body: await (direction === 'decode' ? decodePayloads(codec, body) : encodePayloads(codec, body)) };
    },
  });

export const temporalCodecRoutes = [codecRoute('decode'), codecRoute('encode')];
