// The server's prices (SPEC §4.2): a learner pays one of these, never an amount of their own.
// Finance and admin change them; each change is audited with what it was before.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { PaymentPrice } from '../../db/models/Payment';
import type { Db } from '../../lib/db';
import { badRequest, notFound, unprocessable } from '../../lib/errors';
import { decodeCursor, page } from '../../lib/pagination';
import type { CreatePriceBody, PriceView, UpdatePriceBody } from '../../schemas/payments';
import { recordAuditEvent, type AuditContext } from '../audit';
import { DEFAULT_PAGE_SIZE, type Page, type PageQuery } from '../page';
import { checkCurrencyAllowed, type PaymentSettings } from './settings';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Active prices, by id (a stable keyset order). */
export async function listPrices(db: Db, query: PageQuery): Promise<Page<PriceView>> {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const after = decodeCursor(query.cursor, ['id']);
  if (after && !UUID.test(after.id)) throw badRequest('INVALID_CURSOR', 'the cursor is not one this API issued', [{ path: 'query/cursor', message: 'is invalid' }]);
  const q = PaymentPrice.query(db).where({ active: true }).orderBy('id');
  if (after) q.where('id', '>', after.id);
  const { items, nextCursor } = page(await q.limit(limit + 1), limit, (p) => ({ id: p.id }));
  return { items: items.map((p) => p.toView()), nextCursor };
}

/** The active price a payment names; an unknown or inactive one is refused. */
export async function activePrice(db: Db | Knex.Transaction, id: string): Promise<PaymentPrice> {
  const price = await PaymentPrice.query(db).findById(id);
  if (!price?.active) {
    throw unprocessable('PRICE_NOT_FOUND', `no active price ${id}`, [{ path: 'body/priceId', message: 'unknown or inactive price' }]);
  }
  return price;
}

export async function createPrice(db: Db, settings: PaymentSettings, body: CreatePriceBody, by: AuditContext): Promise<PaymentPrice> {
  checkCurrencyAllowed(settings, body.currency);
  return db.transaction(async (trx) => {
    const price = await PaymentPrice.query(trx)
      .insert({ id: randomUUID(), description: body.description, amountCents: body.amountCents, currency: body.currency, active: body.active ?? true })
      .returning('*');
    await recordAuditEvent(trx, { ...by, action: 'price.create', target: `price:${price.id}`, reason: body.reason, after: price.toView() }, 'succeeded');
    return price;
  });
}

/** Changes a price for payments created from now on; payments already made keep what they were charged. */
export async function updatePrice(db: Db, settings: PaymentSettings, id: string, body: UpdatePriceBody, by: AuditContext): Promise<PaymentPrice> {
  if (body.currency !== undefined) checkCurrencyAllowed(settings, body.currency);
  const { reason, ...change } = body;
  return db.transaction(async (trx) => {
    const before = await PaymentPrice.query(trx).findById(id).forUpdate();
    if (!before) throw notFound('price');
    const [after] = await PaymentPrice.query(trx).where('id', id).patch({ ...change, updatedAt: new Date() }).returning('*');
    await recordAuditEvent(trx, { ...by, action: 'price.update', target: `price:${id}`, reason, before: before.toView(), after: after.toView() }, 'succeeded');
    return after;
  });
}
