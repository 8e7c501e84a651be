// Seeding rows on both sides of a retention cut-off, and starting retentionRun directly
// with a chosen `asOf`, so "exactly at the cut-off" is a known instant.
import { randomUUID } from 'node:crypto';
import type { Db } from '../../lib/db';
import { retentionRunWorkflowId, RETENTION_RUN_WORKFLOW, RETENTION_TASK_QUEUE, type RetentionRunInput } from '../../workflows/retentionRun.contract';
import { temporalClient } from './shared';

export const DAY_MS = 24 * 60 * 60 * 1000;

/** Instants around the cut-off of a policy of `days` measured from `asOf`. */
export function aroundCutoff(asOf: Date, days: number) {
  const cutoff = new Date(asOf.getTime() - days * DAY_MS);
  return {
    cutoff,
    expired: new Date(cutoff.getTime() - 1000),
    longExpired: new Date(cutoff.getTime() - 40 * DAY_MS),
    atCutoff: cutoff,
    inside: new Date(cutoff.getTime() + 1000),
  };
}

export async function insertAsset(
  db: Db,
  row: { ownerId: string; status: string; createdAt: Date; updatedAt?: Date; uploadKey?: string },
): Promise<{ id: string; uploadKey: string }> {
  const id = randomUUID();
  const uploadKey = row.uploadKey ?? `incoming/${id}/original.pdf`;
  await db('assets').insert({
    id,
    ownerId: row.ownerId,
    status: row.status,
    kind: 'pdf',
    filename: 'old.pdf',
    contentType: 'application/pdf',
    sizeBytes: 4,
    uploadKey,
    metadata: {},
    createdAt: row.createdAt,
    updatedAt: row.updatedAt ?? row.createdAt,
  });
  return { id, uploadKey };
}

/** Ingestion events of one asset at the given instants, under one `step` (the test's criteria); their ids in order. */
export async function insertIngestionEvents(db: Db, assetId: string, step: string, instants: Date[]): Promise<string[]> {
  const rows = (await db('asset_ingestion_events')
    .insert(instants.map((createdAt) => ({ assetId, eventKey: randomUUID(), step, status: 'ok', detail: {}, createdAt })))
    .returning('id')) as Array<{ id: string }>;
  return rows.map((r) => String(r.id));
}

export const tableExists = (db: Db, table: string) => db.schema.hasTable(table);

/** Starts retentionRun as the API would, but with the caller's `asOf`; answers the handle. */
export async function startRetentionRun(input: Omit<RetentionRunInput, 'trigger'> & { retentionRunId: string }) {
  const client = await temporalClient();
  return client.workflow.start(RETENTION_RUN_WORKFLOW, {
    workflowId: retentionRunWorkflowId(input.retentionRunId),
    taskQueue: RETENTION_TASK_QUEUE,
    args: [{ ...input, trigger: 'api' } satisfies RetentionRunInput],
  });
}

/** `count` ingestion events of one asset under `step`, one second apart, the newest one second before `before`. */
export async function insertEventsBefore(db: Db, assetId: string, step: string, before: Date, count: number): Promise<void> {
  await db.raw(
    `insert into asset_ingestion_events (asset_id, event_key, step, status, detail, created_at)
     select ?, ? || g, ?, 'ok', '{}', ?::timestamptz - make_interval(secs => g)
     from generate_series(1, ?) g`,
    [assetId, `${step}-${before.getTime()}-`, step, before, count],
  );
}
