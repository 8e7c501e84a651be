// Webhook endpoints: created, changed, deleted and re-keyed by admins, each change audited
// in the transaction that makes it. The signing secret is shown once and stored encrypted.
import { randomUUID } from 'node:crypto';
import type { Db } from '../../lib/db';
import { notFound } from '../../lib/errors';
import { decodeCursor, page } from '../../lib/pagination';
import type {
  CreateWebhookEndpointBody,
  ListPageQuery,
  UpdateWebhookEndpointBody,
  WebhookEndpointView,
} from '../../schemas/notifications';
import { recordAuditEvent, type AuditContext } from '../audit';
import { DEFAULT_PAGE_SIZE, type Page } from '../page';
import { encryptSecret, generateSecret } from './secrets';
import { checkedAddress, type UrlRules } from './urls';

/** How long a rotated-out secret keeps signing beside the new one. */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;

export interface EndpointSettings {
  urlRules: UrlRules;
  secretKey: Buffer;
}

export interface EndpointRow {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  active: boolean;
  secretEncrypted: string;
  previousSecretEncrypted: string | null;
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
  deletedAt: Date | null;
}

const viewOf = (row: EndpointRow): WebhookEndpointView => ({
  id: row.id,
  url: row.url,
  events: row.events,
  description: row.description,
  active: row.active,
  createdAt: row.createdAt.toISOString(),
});

const live = (db: Db) => db<EndpointRow>('webhook_endpoints').whereNull('deletedAt');

export async function findEndpoint(db: Db, id: string): Promise<EndpointRow | undefined> {
  return (await live(db).where({ id }).first()) as EndpointRow | undefined;
}

async function endpointOrThrow(db: Db, id: string): Promise<EndpointRow> {
  const row = await findEndpoint(db, id);
  if (!row) throw notFound('webhook endpoint');
  return row;
}

export async function createEndpoint(
  db: Db,
  settings: EndpointSettings,
  body: CreateWebhookEndpointBody,
  by: AuditContext,
): Promise<WebhookEndpointView & { secret: string }> {
  await checkedAddress(body.url, settings.urlRules);
  const secret = generateSecret();
  const id = randomUUID();
  const row = await db.transaction(async (trx) => {
    const [created] = (await trx('webhook_endpoints')
      .insert({ id, url: body.url, events: body.events, description: body.description ?? null, secretEncrypted: encryptSecret(settings.secretKey, secret) })
      .returning('*')) as EndpointRow[];
    await recordAuditEvent(trx, { ...by, action: 'webhook_endpoint.create', target: `webhook_endpoint:${id}`, reason: body.reason, after: viewOf(created) }, 'succeeded');
    return created;
  });
  return { ...viewOf(row), secret };
}

export async function listEndpoints(db: Db, query: ListPageQuery): Promise<Page<WebhookEndpointView>> {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const after = decodeCursor(query.cursor, ['id']);
  const q = live(db).orderBy('id');
  if (after) q.where('id', '>', after.id);
  const rows = (await q.limit(limit + 1)) as EndpointRow[];
  const { items, nextCursor } = page(rows, limit, (row) => ({ id: row.id }));
  return { items: items.map(viewOf), nextCursor };
}

export async function getEndpoint(db: Db, id: string): Promise<WebhookEndpointView> {
  return viewOf(await endpointOrThrow(db, id));
}

export async function updateEndpoint(
  db: Db,
  settings: EndpointSettings,
  id: string,
  body: UpdateWebhookEndpointBody,
  by: AuditContext,
): Promise<WebhookEndpointView> {
  if (body.url !== undefined) await checkedAddress(body.url, settings.urlRules);
  const { reason, ...changes } = body;
  return db.transaction(async (trx) => {
    const before = await endpointOrThrow(trx, id);
    const [after] = (await trx('webhook_endpoints').where({ id }).update({ ...changes, updatedAt: new Date() }).returning('*')) as EndpointRow[];
    await recordAuditEvent(trx, { ...by, action: 'webhook_endpoint.update', target: `webhook_endpoint:${id}`, reason, before: viewOf(before), after: viewOf(after) }, 'succeeded');
    return viewOf(after);
  });
}

/** A deleted endpoint gets nothing more; its deliveries stay inspectable until retention removes them. */
export async function deleteEndpoint(db: Db, id: string, reason: string | undefined, by: AuditContext): Promise<void> {
  await db.transaction(async (trx) => {
    const before = await endpointOrThrow(trx, id);
    await trx('webhook_endpoints').where({ id }).update({ deletedAt: new Date(), active: false, updatedAt: new Date() });
    await recordAuditEvent(trx, { ...by, action: 'webhook_endpoint.delete', target: `webhook_endpoint:${id}`, reason, before: viewOf(before) }, 'succeeded');
  });
}

/** A new secret (shown once); the old one keeps signing beside it for ROTATION_OVERLAP_MS. */
export async function rotateSecret(
  db: Db,
  settings: EndpointSettings,
  id: string,
  reason: string | undefined,
  by: AuditContext,
): Promise<WebhookEndpointView & { secret: string }> {
  const secret = generateSecret();
  const row = await db.transaction(async (trx) => {
    const before = await endpointOrThrow(trx, id);
    const [after] = (await trx('webhook_endpoints')
      .where({ id })
      .update({
        secretEncrypted: encryptSecret(settings.secretKey, secret),
        previousSecretEncrypted: before.secretEncrypted,
        previousSecretExpiresAt: new Date(Date.now() + ROTATION_OVERLAP_MS),
        updatedAt: new Date(),
      })
      .returning('*')) as EndpointRow[];
    await recordAuditEvent(trx, { ...by, action: 'webhook_endpoint.rotate_secret', target: `webhook_endpoint:${id}`, reason }, 'succeeded');
    return after;
  });
  return { ...viewOf(row), secret };
}
