// Retention batches. Every batch is one transaction that also commits the keyset cursor
// and the counts, so a retry after a crash resumes where the last committed batch ended
// and never counts a row twice. Two strategies: a table batch is found by walking the
// index and changed by keyset range (the next one found ahead on another connection
// meanwhile); a storage-backed batch locks its rows, removes their objects, then changes them.
import type { Knex } from 'knex';
import { RetentionRunPolicy } from '../../db/models/Retention';
import type { ActionSpec, EntityDefinition } from '../../db/retentionEntities';
import type { Db } from '../../lib/db';
import type { Storage } from '../../providers/storage';
import { actionStatement, and, expiredRows, keyIn, pastCursor, upTo, type SqlPart } from './sql';
import { loadPolicyState, type PolicyCounts, type PolicyRef } from './runs';

export interface RetentionBatchDeps {
  db: Db;
  storage: Storage;
  buckets: { uploads: string; quarantine: string };
  batchSize: number;
  objectBatchSize: number;
}

export const SAMPLE_SIZE = 10;
/** Objects removed at once within a batch: bounded, so a large batch never floods the gateway. */
const OBJECT_DELETE_CONCURRENCY = 16;

/** What one batch did: its counts, where it ended, and its first keys (for the sample). */
interface BatchOutcome {
  matched: number;
  affected: number;
  cursorAt: string | null;
  cursorKey: string | null;
  firstKeys: string[];
}

interface BatchRow {
  key: string;
  cursorAt: string;
  objectKey?: string;
  objectBucket?: string;
}

/** The next table batch, found ahead on a connection of its own while the current one changes. */
export interface FoundAhead {
  after: { cursorAt: string; cursorKey: string };
  found: Promise<BatchOutcome>;
}

/** One bounded keyset batch of a storage-backed entity, locked, with each row's object. */
function selectObjectBatch(trx: Knex, entity: EntityDefinition, condition: SqlPart, size: number) {
  const objects = entity.objects as NonNullable<EntityDefinition['objects']>;
  const bucketColumn = 'column' in objects.bucket ? { sql: ', ?? as "objectBucket"', bindings: [objects.bucket.column] } : { sql: '', bindings: [] };
  return trx.raw(
    `select ??::text as "key", ??::text as "cursorAt", ?? as "objectKey"${bucketColumn.sql} from ?? where ${condition.sql}
     order by ??, ?? limit ? for update`,
    [
      entity.key, entity.timestampColumn, objects.keyColumn, ...bucketColumn.bindings, entity.table, ...condition.bindings,
      entity.timestampColumn, entity.key, size,
    ],
  ) as unknown as Promise<{ rows: BatchRow[] }>;
}

function bucketOf(deps: RetentionBatchDeps, entity: EntityDefinition, row: BatchRow): string {
  const where = entity.objects?.bucket;
  if (!where || 'column' in where) return row.objectBucket as string;
  return deps.buckets[where.config];
}

/** The bucket is checked first: removing from a bucket that is not there "succeeds", and the row must not be marked. */
async function removeObjects(deps: RetentionBatchDeps, entity: EntityDefinition, rows: BatchRow[]): Promise<void> {
  const { storage } = deps;
  for (const bucket of new Set(rows.map((r) => bucketOf(deps, entity, r)))) {
    await storage.ping(bucket).catch((err: Error) => {
      throw new Error(`bucket ${bucket} is unreachable: ${err.name} ${err.message}`);
    });
  }
  for (let i = 0; i < rows.length; i += OBJECT_DELETE_CONCURRENCY) {
    await Promise.all(
      rows.slice(i, i + OBJECT_DELETE_CONCURRENCY).map((r) => (r.objectKey ? storage.remove(bucketOf(deps, entity, r), r.objectKey) : undefined)),
    );
  }
}

/**
 * Finds a table batch without changing it: the keyset range past the cursor up to its last
 * row — the `size`-th, or for the last batch the last there is — found by walking the index
 * once, without holding the batch's rows; its count (`affected` 0) and first ids come back.
 */
async function findBatch(trx: Knex, entity: EntityDefinition, condition: SqlPart, size: number): Promise<BatchOutcome> {
  const { timestampColumn: ts, key, table } = entity;
  const rows = (order: string, limit: string) => ({
    sql: `select ?? as t, ?? as k from ?? where ${condition.sql} order by ?? ${order}, ?? ${order} ${limit}`,
    bindings: [ts, key, table, ...condition.bindings, ts, key],
  });
  const nth = rows('asc', 'offset ? limit 1');
  const lastOfAll = rows('desc', 'limit 1');
  const firstKeys = rows('asc', 'limit ?');
  const { rows: outcome } = (await trx.raw(
    // The second branch runs only when there is no size-th row; so does the count.
    `with last as (
       select t, k, true as "full" from (${nth.sql}) nth union all select t, k, false from (${lastOfAll.sql}) l limit 1
     )
     select (case when (select "full" from last) then ? else (select count(*) from ?? where ${condition.sql}) end)::int as "matched",
            0 as "affected",
            (select t::text from last) as "cursorAt",
            (select k::text from last) as "cursorKey",
            (select coalesce(json_agg(k::text), '[]'::json) from (${firstKeys.sql}) s) as "firstKeys"`,
    [...nth.bindings, size - 1, ...lastOfAll.bindings, size, table, ...condition.bindings, ...firstKeys.bindings, Math.min(SAMPLE_SIZE, size)],
  )) as { rows: BatchOutcome[] };
  return outcome[0];
}

async function runStatement(trx: Knex, statement: SqlPart): Promise<number> {
  const result = (await trx.raw(statement.sql, statement.bindings)) as { rowCount: number };
  return result.rowCount;
}

/**
 * Changes a found table batch: every row of its keyset range, the cut-off and scope checked
 * again on each, so a row another transaction changed meanwhile is checked in its newest
 * version and one that left the policy's reach is left alone.
 */
async function changeBatch(trx: Knex, entity: EntityDefinition, action: ActionSpec, condition: SqlPart, found: BatchOutcome): Promise<BatchOutcome> {
  if (found.cursorAt === null || found.cursorKey === null) return found;
  const statement = actionStatement(entity, action, and([condition, upTo(entity, found.cursorAt, found.cursorKey)]));
  return { ...found, affected: await runStatement(trx, statement) };
}

/** A live batch of a storage-backed entity: rows locked, their objects removed, then the rows changed. */
async function objectBatch(
  deps: RetentionBatchDeps,
  trx: Knex,
  plan: { entity: EntityDefinition; action: ActionSpec; expired: SqlPart; condition: SqlPart },
  size: number,
): Promise<BatchOutcome> {
  const { entity, action, expired, condition } = plan;
  const { rows } = await selectObjectBatch(trx, entity, condition, size);
  const last = rows[rows.length - 1];
  const outcome = { matched: rows.length, affected: 0, cursorAt: last?.cursorAt ?? null, cursorKey: last?.key ?? null, firstKeys: rows.slice(0, SAMPLE_SIZE).map((r) => r.key) };
  if (rows.length === 0) return outcome;
  await removeObjects(deps, entity, rows);
  const statement = actionStatement(entity, action, and([keyIn(entity, rows.map((r) => r.key)), expired]));
  return { ...outcome, affected: await runStatement(trx, statement) };
}

/**
 * The batch statements' settings. The planner cannot know a batch's last key when it plans:
 * it guesses the range at a third of the expired rows, may then scan the whole table for it,
 * and finds the statement costly enough to JIT-compile it (~25 ms, more than a 10 000-row
 * batch takes). A range holds at most one batch: walk it by index, uncompiled.
 */
async function batchSettings(trx: Knex): Promise<void> {
  // A batch, its cursor and its counts commit together, so losing the last few commits in a
  // database crash loses them together and the retry redoes them: no need to wait for the WAL
  // flush of every batch (it dominates the time of small batches).
  await trx.raw(
    `select set_config('synchronous_commit', 'off', true), set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true)`,
  );
}

function findAhead(db: Db, entity: EntityDefinition, expired: SqlPart, after: FoundAhead['after'], size: number): FoundAhead {
  const condition = pastCursor(entity, expired, after);
  const found = db.transaction(async (trx) => {
    await batchSettings(trx);
    return findBatch(trx, entity, condition, size);
  });
  found.catch(() => undefined); // awaited by the next batch, or dropped with the slice
  return { after, found };
}

/**
 * One bounded batch in one transaction: read past the cursor, act (unless dry), commit counts
 * and cursor. A live table batch also starts finding the next one, which `ahead` brings back.
 */
export async function runRetentionBatch(deps: RetentionBatchDeps, ref: PolicyRef, ahead?: FoundAhead): Promise<PolicyCounts & { next?: FoundAhead }> {
  return deps.db.transaction(async (trx) => {
    await batchSettings(trx);
    const { state, dryRun, entity, action } = await loadPolicyState(trx, ref);
    if (state.status !== 'pending') return { done: true, matched: Number(state.matched), affected: Number(state.affected) };
    const expired = expiredRows(entity, action, state.criteria, state.cutoffAt);
    const condition = pastCursor(entity, expired, state);
    // Removing objects is slow and bounded separately; a batch that only touches rows can be far larger.
    const withObjects = !dryRun && entity.objects !== undefined;
    const size = withObjects ? Math.min(deps.objectBatchSize, deps.batchSize) : deps.batchSize;
    let next: FoundAhead | undefined;
    let batch: BatchOutcome;
    if (withObjects) {
      batch = await objectBatch(deps, trx, { entity, action, expired, condition }, size);
    } else {
      // Found ahead from exactly this cursor, or found now (the first batch of a slice).
      const sameCursor = ahead && ahead.after.cursorAt === state.cursorAt && ahead.after.cursorKey === state.cursorKey;
      const found = sameCursor ? await ahead.found : await findBatch(trx, entity, condition, size);
      const full = found.matched === size && found.cursorAt !== null && found.cursorKey !== null;
      if (full && !dryRun) next = findAhead(deps.db, entity, expired, { cursorAt: found.cursorAt as string, cursorKey: found.cursorKey as string }, size);
      batch = dryRun ? found : await changeBatch(trx, entity, action, condition, found);
    }
    const sampleIds = [...state.sampleIds, ...batch.firstKeys].slice(0, SAMPLE_SIZE);
    const counts = { matched: Number(state.matched) + batch.matched, affected: Number(state.affected) + batch.affected };
    await RetentionRunPolicy.query(trx)
      .findById([ref.retentionRunId, ref.policyId])
      .patch({ ...counts, sampleIds, cursorAt: batch.cursorAt ?? state.cursorAt, cursorKey: batch.cursorKey ?? state.cursorKey });
    return { done: batch.matched < size, ...counts, next };
  });
}
