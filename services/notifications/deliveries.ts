// Deliveries of events to endpoints: what each attempt did, signed the Standard Webhooks way,
// and the listing and manual retry admins use.
import { createHmac, randomUUID } from 'node:crypto';
import type { Db } from '../../lib/db';
import { conflict, notFound } from '../../lib/errors';
import { decodeCursor, page } from '../../lib/pagination';
import type { DeliveryStatus, ListPageQuery, WebhookDeliveryView } from '../../schemas/notifications';
import { DEFAULT_PAGE_SIZE, type Page } from '../page';
import { findEndpoint, type EndpointRow } from './endpoints';
import { eventBody, findOutboxEvent, type OutboxEvent } from './outbox';
import { decryptSecret, secretKeyBytes } from './secrets';

interface DeliveryRow {
  id: string;
  endpointId: string;
  eventId: string;
  type: string;
  status: DeliveryStatus;
  createdAt: Date;
}

interface AttemptRow {
  deliveryId: string;
  at: Date;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

export interface AttemptRecord {
  at: Date;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

/** `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` per secret, space-separated. */
export function signatureHeader(secrets: readonly string[], id: string, timestamp: number, body: string): string {
  return secrets.map((secret) => `v1,${createHmac('sha256', secretKeyBytes(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`).join(' ');
}

/** The delivery of an event to an endpoint, created when missing (the dispatcher usually has). */
export async function ensureDelivery(db: Db, endpointId: string, event: Pick<OutboxEvent, 'id' | 'type'>): Promise<DeliveryRow> {
  await db('webhook_deliveries').insert({ id: randomUUID(), endpointId, eventId: event.id, type: event.type, status: 'pending' }).onConflict(['endpoint_id', 'event_id']).ignore();
  return (await db<DeliveryRow>('webhook_deliveries').where({ endpointId, eventId: event.id }).first()) as DeliveryRow;
}

export interface DeliveryTarget {
  delivery: DeliveryRow;
  endpoint: EndpointRow;
  body: string;
  /** Decrypted: the current secret, then the rotated-out one while it still signs. */
  secrets: string[];
}

/** What one attempt needs, or null when the endpoint is gone or inactive (or the event expired). */
export async function deliveryTarget(db: Db, secretKey: Buffer, endpointId: string, eventId: string, now: Date): Promise<DeliveryTarget | null> {
  const [endpoint, event] = await Promise.all([findEndpoint(db, endpointId), findOutboxEvent(db, eventId)]);
  if (!endpoint || !endpoint.active || !event) return null;
  const secrets = [decryptSecret(secretKey, endpoint.secretEncrypted)];
  if (endpoint.previousSecretEncrypted && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now) {
    secrets.push(decryptSecret(secretKey, endpoint.previousSecretEncrypted));
  }
  return { delivery: await ensureDelivery(db, endpointId, event), endpoint, body: eventBody(event), secrets };
}

/** Records an attempt; a 2xx settles the delivery `succeeded` in the same transaction. */
export async function recordAttempt(db: Db, deliveryId: string, attempt: AttemptRecord, delivered: boolean): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('webhook_delivery_attempts').insert({ deliveryId, ...attempt });
    if (delivered) await trx('webhook_deliveries').where({ id: deliveryId, status: 'pending' }).update({ status: 'succeeded', updatedAt: new Date() });
  });
}

/** After the last retry (or when the endpoint is gone) a pending delivery is `failed`. */
export async function failDelivery(db: Db, endpointId: string, eventId: string): Promise<void> {
  await db('webhook_deliveries').where({ endpointId, eventId, status: 'pending' }).update({ status: 'failed', updatedAt: new Date() });
}

async function withAttempts(db: Db, rows: DeliveryRow[]): Promise<WebhookDeliveryView[]> {
  const attempts = rows.length
    ? ((await db<AttemptRow>('webhook_delivery_attempts').whereIn('deliveryId', rows.map((r) => r.id)).orderBy('id')) as AttemptRow[])
    : [];
  return rows.map((row) => ({
    id: row.id,
    endpointId: row.endpointId,
    eventId: row.eventId,
    type: row.type,
    status: row.status,
    attempts: attempts
      .filter((a) => a.deliveryId === row.id)
      .map((a) => ({ at: a.at.toISOString(), statusCode: a.statusCode, latencyMs: a.latencyMs, error: a.error })),
  }));
}

/** An endpoint's deliveries, newest first. */
export async function listDeliveries(db: Db, endpointId: string, query: ListPageQuery): Promise<Page<WebhookDeliveryView>> {
  if (!(await findEndpoint(db, endpointId))) throw notFound('webhook endpoint');
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const after = decodeCursor(query.cursor, ['createdAt', 'id']);
  const q = db<DeliveryRow>('webhook_deliveries').where({ endpointId }).orderBy([{ column: 'createdAt', order: 'desc' }, { column: 'id', order: 'desc' }]);
  if (after) q.whereRaw('(created_at, id) < (?, ?)', [after.createdAt, after.id]);
  const rows = (await q.limit(limit + 1)) as DeliveryRow[];
  const { items, nextCursor } = page(rows, limit, (row) => ({ createdAt: row.createdAt.toISOString(), id: row.id }));
  return { items: await withAttempts(db, items), nextCursor };
}

/** A `failed` delivery goes back to `pending` for a new run; a pending one is still being tried (409). */
export async function reopenDelivery(db: Db, endpointId: string, deliveryId: string): Promise<DeliveryRow> {
  const row = (await db<DeliveryRow>('webhook_deliveries').where({ id: deliveryId, endpointId }).first()) as DeliveryRow | undefined;
  if (!row || !(await findEndpoint(db, endpointId))) throw notFound('webhook delivery');
  if (row.status === 'pending') throw conflict('DELIVERY_PENDING', 'this delivery is still being attempted');
  if (row.status === 'succeeded') throw conflict('DELIVERY_SUCCEEDED', 'this delivery already succeeded');
  await db('webhook_deliveries').where({ id: deliveryId, status: 'failed' }).update({ status: 'pending', updatedAt: new Date() });
  return { ...row, status: 'pending' };
}

export async function deliveryView(db: Db, deliveryId: string): Promise<WebhookDeliveryView> {
  const row = (await db<DeliveryRow>('webhook_deliveries').where({ id: deliveryId }).first()) as DeliveryRow;
  return (await withAttempts(db, [row]))[0];
}
