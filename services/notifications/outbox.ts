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

/**
 * Records one event; `data` is the resource's GET body without `run`, e.g. `{payment: {...}}`.
 * An event with a natural id (`id`) is recorded once however often it is written.
 */
export async function recordOutboxEvent(trx: Knex | Knex.Transaction, type: WebhookEventType, data: Record<string, unknown>, id: string = randomUUID()): Promise<string> {
  await trx('outbox_events').insert({ id, type, data: JSON.stringify(data) }).onConflict('id').ignore();
  return id;
}

/** A run that is about to end Failed, as the activity marking its record failed knows it. */
export interface FailedRun {
  workflowId: string;
  /** Temporal's run id (a UUID): also the event's id, so a retried activity reports it once. */
  runId: string;
  type: string;
  failure: string;
}

/** `run.failed`, written by the activity that marks the run's record failed, in that transaction. */
export async function reportRunFailed(trx: Knex | Knex.Transaction, run: FailedRun): Promise<void> {
  const { workflowId, runId, type, failure } = run;
  await recordOutboxEvent(trx, 'run.failed', { run: { workflowId, runId, type, status: 'Failed', failure } }, runId);
}

/** The body every endpoint receives for an event: `{id, type, createdAt, data}`. */
export const eventBody = (event: OutboxEvent): string =>
  JSON.stringify({ id: event.id, type: event.type, createdAt: event.createdAt.toISOString(), data: event.data });

export async function findOutboxEvent(db: Knex, id: string): Promise<OutboxEvent | undefined> {
  return (await db('outbox_events').where({ id }).first()) as OutboxEvent | undefined;
}
