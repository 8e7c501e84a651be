// The transactional outbox: an event is written in the same transaction as the state change
// it reports, so a rolled-back change sends nothing and a committed one is never lost.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { WebhookEventType } from '../../schemas/notifications';

export interface OutboxEvent {
  id: string;
  type: WebhookEventType;
  createdAt: Date;
  data: Record<string, unknown>;
}

/** Records one event; `data` is the resource's GET body without `run`, e.g. `{payment: {...}}`. */
export async function recordOutboxEvent(trx: Knex | Knex.Transaction, type: WebhookEventType, data: Record<string, unknown>): Promise<string> {
  const id = randomUUID();
  await trx('outbox_events').insert({ id, type, data: JSON.stringify(data) });
  return id;
}

/** The body every endpoint receives for an event: `{id, type, createdAt, data}`. */
export const eventBody = (event: OutboxEvent): string =>
  JSON.stringify({ id: event.id, type: event.type, createdAt: event.createdAt.toISOString(), data: event.data });

export async function findOutboxEvent(db: Knex, id: string): Promise<OutboxEvent | undefined> {
  return (await db('outbox_events').where({ id }).first()) as OutboxEvent | undefined;
}
