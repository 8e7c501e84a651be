import { badRequest } from './errors';

/** Opaque keyset cursors: base64url of the JSON of the last item's sort key. */
export function encodeCursor(key: Record<string, string>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<K extends string>(cursor: string | undefined, fields: readonly K[]): Record<K, string> | null {
  if (!cursor) return null;
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (fields.every((f) => typeof key[f] === 'string')) return key as Record<K, string>;
  } catch {
    // falls through to the 400 below
  }
  throw badRequest('INVALID_CURSOR', 'the cursor is not one this API issued', [{ path: 'query/cursor', message: 'is invalid' }]);
}

/** Splits a `limit + 1` fetch into the page and the cursor of the next one. */
export function page<T>(rows: T[], limit: number, keyOf: (row: T) => Record<string, string>) {
  const items = rows.slice(0, limit);
  const nextCursor = rows.length > limit ? encodeCursor(keyOf(items[items.length - 1])) : null;
  return { items, nextCursor };
}
