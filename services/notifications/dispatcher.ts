// The dispatcher: takes undispatched outbox events (skipping those another replica holds),
// matches the endpoints subscribed at this moment, and starts one delivery run per endpoint
// and event. Starting is idempotent by workflow ID, and the event is marked dispatched only
// in the transaction that started its runs, so a crash anywhere repeats a start, never loses one.
import type { Db } from '../../lib/db';
import { ensureDelivery } from './deliveries';
import type { OutboxEvent } from './outbox';

/** Starts (or finds already started) the delivery run of an event to an endpoint. */
export type StartDelivery = (endpointId: string, eventId: string) => Promise<void>;

export async function dispatchPending(db: Db, start: StartDelivery, batchSize = 50): Promise<number> {
  return db.transaction(async (trx) => {
    const events = (await trx<OutboxEvent>('outbox_events')
      .whereNull('dispatchedAt')
      .orderBy('createdAt')
      .limit(batchSize)
      .forUpdate()
      .skipLocked()) as OutboxEvent[];
    for (const event of events) {
      const endpoints = (await trx('webhook_endpoints')
        .select('id')
        .whereNull('deletedAt')
        .where({ active: true })
        .whereRaw('? = ANY(events)', [event.type])) as Array<{ id: string }>;
      for (const { id } of endpoints) {
        await ensureDelivery(trx, id, event);
        await start(id, event.id);
      }
    }
    if (events.length) await trx('outbox_events').whereIn('id', events.map((e) => e.id)).update({ dispatchedAt: new Date() });
    return events.length;
  });
}
