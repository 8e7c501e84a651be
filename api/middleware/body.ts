import type { ParameterizedContext } from 'koa';
import { badRequest, tooLarge, unsupportedMedia } from '../../lib/errors';

export const JSON_BODY_LIMIT_BYTES = 1024 * 1024;

/** Reads the request body as bytes, refusing more than `limit` with 413. */
export async function readRawBody(ctx: ParameterizedContext, limit = JSON_BODY_LIMIT_BYTES): Promise<Buffer> {
  const declared = Number(ctx.get('Content-Length') || 0);
  if (declared > limit) throw tooLarge('BODY_TOO_LARGE', `request bodies are limited to ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge('BODY_TOO_LARGE', `request bodies are limited to ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Reads and parses a JSON body (415 for another media type, 400 for malformed JSON); its text comes back too. */
export async function readJsonBody(ctx: ParameterizedContext): Promise<{ text: string; value: unknown }> {
  const raw = await readRawBody(ctx);
  if (raw.length === 0) return { text: '', value: undefined };
  if (!ctx.is('application/json', 'application/*+json')) {
    throw unsupportedMedia('UNSUPPORTED_MEDIA_TYPE', 'request bodies must be application/json');
  }
  const text = raw.toString('utf8');
  try {
    return { text, value: JSON.parse(text) };
  } catch {
    throw badRequest('MALFORMED_JSON', 'the request body is not valid JSON');
  }
}
