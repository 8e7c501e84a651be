// Activities of the retention process. Every batch is one transaction that also
// commits the keyset cursor and the counts, so a retry after a crash resumes where
// the last committed batch ended and never counts a row twice. Table and column
// names come only from the allow-list (db/retentionEntities.ts); everything a user
// wrote is a bound value.
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import type { Config } from '../lib/config';
import type { Db } from '../lib/db';
import type { Storage } from '../providers/storage';
import { RetentionAuditLog, RetentionPolicy, RetentionRun, RetentionRunPolicy } from '../db/models/Retention';
import { ENTITY_DEFINITIONS, type ActionSpec, type ColumnValue, type EntityDefinition } from '../db/retentionEntities';
import type { RetentionCriteria, RetentionRunStatus } from '../schemas/retention';

export interface RetentionActivityDeps {
  db: Db;
  storage: Storage;
  buckets: { uploads: string; quarantine: string };
  batchSize: number;
  objectBatchSize: number;
  maxFailures: number;
  failureBackoffMinutes: number;
}

/** The activities' settings as the worker configures them. */
export function retentionActivityDeps(config: Config, db: Db, storage: Storage): RetentionActivityDeps {
  return {
    db,
    storage,
    buckets: { uploads: config.S3_BUCKET_UPLOADS, quarantine: config.S3_BUCKET_QUARANTINE },
    batchSize: config.DATA_RETENTION_BATCH_SIZE,
    objectBatchSize: config.DATA_RETENTION_OBJECT_BATCH_SIZE,
    maxFailures: config.DATA_RETENTION_MAX_FAILURES,
    failureBackoffMinutes: config.DATA_RETENTION_FAILURE_BACKOFF_MINUTES,
  };
}

export interface OpenRetentionRunInput {
  retentionRunId: string;
  workflowId: string;
  dryRun: boolean;
  policyIds?: string[];
  asOf: string;
  trigger: 'api' | 'schedule';
  requestedBy?: string;
}

export interface PlannedPolicy {
  policyId: string;
  entity: string;
  status: RetentionRunPolicy['status'];
}

export interface PolicyRef {
  retentionRunId: string;
  policyId: string;
}

export interface PolicyCounts {
  done: boolean;
  matched: number;
  affected: number;
}

export const SAMPLE_SIZE = 10;
const DAY_MS = 24 * 60 * 60 * 1000;
/** One activity call works through batches for at most this long, then hands back so the workflow shows progress. */
const SLICE_MS = 20_000;
/** Objects removed at once within a batch: bounded, so a large batch never floods the gateway. */
const OBJECT_DELETE_CONCURRENCY = 16;

interface SqlPart {
  sql: string;
  bindings: Knex.RawBinding[];
}

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

const and = (parts: SqlPart[]): SqlPart => ({
  sql: parts.map((p) => `(${p.sql})`).join(' and '),
  bindings: parts.flatMap((p) => p.bindings),
});

function equalities(conditions: Record<string, string | null>): SqlPart[] {
  return Object.entries(conditions).map(([column, value]) =>
    value === null ? { sql: '?? is null', bindings: [column] } : { sql: '?? = ?', bindings: [column, value] },
  );
}

function criteriaParts(entity: EntityDefinition, criteria: RetentionCriteria): SqlPart[] {
  return Object.entries(criteria).map(([column, value]) => {
    if (!entity.criteriaColumns.includes(column)) {
      throw ApplicationFailure.nonRetryable(`criteria column ${column} is not allowed for ${entity.table}`, 'InvalidRetentionPolicy');
    }
    const values = (Array.isArray(value) ? value : [value]).map(String);
    return { sql: '??::text = any(?::text[])', bindings: [column, values] };
  });
}

/** Rows of the policy past its cut-off that still need the action (the cursor is added separately). */
function expiredRows(entity: EntityDefinition, action: ActionSpec, criteria: RetentionCriteria, cutoffAt: Date): SqlPart {
  return and([
    { sql: '?? < ?', bindings: [entity.timestampColumn, cutoffAt] },
    ...equalities(entity.scope),
    ...equalities(action.scope ?? {}),
    ...criteriaParts(entity, criteria),
  ]);
}

function assignment(column: string, value: ColumnValue): SqlPart {
  if (value === null) return { sql: '?? = null', bindings: [column] };
  if (typeof value === 'string') return { sql: '?? = ?', bindings: [column, value] };
  if ('now' in value) return { sql: '?? = now()', bindings: [column] };
  return { sql: `?? = '{}'::jsonb`, bindings: [column] };
}

export function createRetentionActivities(deps: RetentionActivityDeps) {
  const { db, storage, buckets } = deps;

  async function openRetentionRun(input: OpenRetentionRunInput): Promise<PlannedPolicy[]> {
    const asOf = new Date(input.asOf);
    await db.transaction(async (trx) => {
      await RetentionRun.query(trx)
        .insert({
          id: input.retentionRunId,
          workflowId: input.workflowId,
          status: 'running',
          dryRun: input.dryRun,
          trigger: input.trigger,
          requestedBy: input.requestedBy ?? null,
          asOf,
        })
        .onConflict('id')
        .ignore();
      // A replayed failed run (reset or restart) takes up its failed policies again from their committed cursors.
      const reopened = await RetentionRun.query(trx)
        .findById(input.retentionRunId)
        .where('status', 'failed')
        .patch({ status: 'running', completedAt: null });
      if (reopened > 0) {
        await RetentionRunPolicy.query(trx)
          .where({ retentionRunId: input.retentionRunId, status: 'failed' })
          .patch({ status: 'pending', error: null });
      }
      const planned = await RetentionRunPolicy.query(trx).where('retentionRunId', input.retentionRunId).resultSize();
      if (planned > 0) return; // a retry, a continued run or a replay: the plan stands
      const q = RetentionPolicy.query(trx).orderBy(['createdAt', 'id']);
      // Policies named explicitly run even when inactive; otherwise every active policy runs.
      if (input.policyIds) q.whereIn('id', input.policyIds);
      else q.where('active', true);
      const policies = await q;
      if (policies.length === 0) return;
      await RetentionRunPolicy.query(trx).insert(
        policies.map((p, position) => {
          const resting = p.restingUntil !== null && p.restingUntil > asOf;
          return {
            retentionRunId: input.retentionRunId,
            policyId: p.id,
            position,
            entity: p.entity,
            action: p.action,
            criteria: p.criteria,
            cutoffAt: new Date(asOf.getTime() - p.retentionDays * DAY_MS),
            status: resting ? ('skipped' as const) : ('pending' as const),
            error: resting
              ? `resting until ${p.restingUntil?.toISOString()} after ${p.consecutiveFailures} consecutive failures: ${p.lastError ?? ''}`
              : null,
            sampleIds: [],
          };
        }),
      );
    });
    const rows = await RetentionRunPolicy.query(db).where('retentionRunId', input.retentionRunId).orderBy('position');
    return rows.map((r) => ({ policyId: r.policyId, entity: r.entity, status: r.status }));
  }

  async function loadState(trx: Knex, ref: PolicyRef) {
    // One round trip: the policy's row, locked, with its run's dryRun beside it.
    const runDryRun = RetentionRun.query(trx).select('dryRun').whereColumn('retentionRuns.id', 'retentionRunPolicies.retentionRunId').as('dryRun');
    const state = (await RetentionRunPolicy.query(trx).select('retentionRunPolicies.*', runDryRun).findById([ref.retentionRunId, ref.policyId]).forUpdate()) as
      | (RetentionRunPolicy & { dryRun: boolean | null })
      | undefined;
    if (!state || state.dryRun === null) throw ApplicationFailure.nonRetryable(`retention run ${ref.retentionRunId} has no policy ${ref.policyId}`, 'RetentionRunNotFound');
    const entity = ENTITY_DEFINITIONS[state.entity];
    const action = entity?.actions[state.action];
    if (!action) throw ApplicationFailure.nonRetryable(`${state.entity} does not support ${state.action}`, 'InvalidRetentionPolicy');
    return { state, dryRun: state.dryRun, entity, action };
  }

  /** Rows past the committed cursor: the keyset condition `(timestamp, key) > cursor`. */
  function pastCursor(entity: EntityDefinition, expired: SqlPart, state: { cursorAt: string | null; cursorKey: string | null }): SqlPart {
    if (state.cursorAt === null || state.cursorKey === null) return expired;
    return and([
      expired,
      { sql: `(??, ??) > (?::timestamptz, ?::${entity.keyType})`, bindings: [entity.timestampColumn, entity.key, state.cursorAt, state.cursorKey] },
    ]);
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

  function bucketOf(entity: EntityDefinition, row: BatchRow): string {
    const where = entity.objects?.bucket;
    if (!where || 'column' in where) return row.objectBucket as string;
    return buckets[where.config];
  }

  /** The bucket is checked first: removing from a bucket that is not there "succeeds", and the row must not be marked. */
  async function removeObjects(entity: EntityDefinition, rows: BatchRow[]): Promise<void> {
    for (const bucket of new Set(rows.map((r) => bucketOf(entity, r)))) {
      await storage.ping(bucket).catch((err: Error) => {
        throw new Error(`bucket ${bucket} is unreachable: ${err.name} ${err.message}`);
      });
    }
    for (let i = 0; i < rows.length; i += OBJECT_DELETE_CONCURRENCY) {
      await Promise.all(
        rows.slice(i, i + OBJECT_DELETE_CONCURRENCY).map((r) => (r.objectKey ? storage.remove(bucketOf(entity, r), r.objectKey) : undefined)),
      );
    }
  }

  /** The action as SQL on the rows of `target`: a DELETE, or an UPDATE of the entity's columns. */
  function actionStatement(entity: EntityDefinition, action: ActionSpec, target: SqlPart): SqlPart {
    if (!action.set) return { sql: `delete from ?? where ${target.sql}`, bindings: [entity.table, ...target.bindings] };
    const sets = Object.entries(action.set).map(([column, value]) => assignment(column, value));
    return {
      sql: `update ?? set ${sets.map((s) => s.sql).join(', ')} where ${target.sql}`,
      bindings: [entity.table, ...sets.flatMap((s) => s.bindings), ...target.bindings],
    };
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

  /**
   * Changes a found table batch: every row of its keyset range, the cut-off and scope checked
   * again on each, so a row another transaction changed meanwhile is checked in its newest
   * version and one that left the policy's reach is left alone.
   */
  async function changeBatch(trx: Knex, entity: EntityDefinition, action: ActionSpec, condition: SqlPart, found: BatchOutcome): Promise<BatchOutcome> {
    if (found.cursorAt === null || found.cursorKey === null) return found;
    const upToLast = { sql: `(??, ??) <= (?::timestamptz, ?::${entity.keyType})`, bindings: [entity.timestampColumn, entity.key, found.cursorAt, found.cursorKey] };
    const statement = actionStatement(entity, action, and([condition, upToLast]));
    const result = (await trx.raw(statement.sql, statement.bindings)) as { rowCount: number };
    return { ...found, affected: result.rowCount };
  }

  /** A live batch of a storage-backed entity: rows locked, their objects removed, then the rows changed. */
  async function objectBatch(
    trx: Knex,
    entity: EntityDefinition,
    action: ActionSpec,
    expired: SqlPart,
    condition: SqlPart,
    size: number,
  ): Promise<BatchOutcome> {
    const { rows } = await selectObjectBatch(trx, entity, condition, size);
    const last = rows[rows.length - 1];
    const outcome = { matched: rows.length, affected: 0, cursorAt: last?.cursorAt ?? null, cursorKey: last?.key ?? null, firstKeys: rows.slice(0, SAMPLE_SIZE).map((r) => r.key) };
    if (rows.length === 0) return outcome;
    await removeObjects(entity, rows);
    const target = and([{ sql: `?? = any(?::${entity.keyType}[])`, bindings: [entity.key, rows.map((r) => r.key)] }, expired]);
    const statement = actionStatement(entity, action, target);
    const result = (await trx.raw(statement.sql, statement.bindings)) as { rowCount: number };
    return { ...outcome, affected: result.rowCount };
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

  /** The next table batch, found ahead on a connection of its own while the current one changes. */
  interface FoundAhead {
    after: { cursorAt: string; cursorKey: string };
    found: Promise<BatchOutcome>;
  }

  function findAhead(entity: EntityDefinition, expired: SqlPart, after: FoundAhead['after'], size: number): FoundAhead {
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
  async function runBatch(ref: PolicyRef, ahead?: FoundAhead): Promise<PolicyCounts & { next?: FoundAhead }> {
    return db.transaction(async (trx) => {
      await batchSettings(trx);
      const { state, dryRun, entity, action } = await loadState(trx, ref);
      if (state.status !== 'pending') return { done: true, matched: Number(state.matched), affected: Number(state.affected) };
      const expired = expiredRows(entity, action, state.criteria, state.cutoffAt);
      const condition = pastCursor(entity, expired, state);
      // Removing objects is slow and bounded separately; a batch that only touches rows can be far larger.
      const withObjects = !dryRun && entity.objects !== undefined;
      const size = withObjects ? Math.min(deps.objectBatchSize, deps.batchSize) : deps.batchSize;
      let next: FoundAhead | undefined;
      let batch: BatchOutcome;
      if (withObjects) {
        batch = await objectBatch(trx, entity, action, expired, condition, size);
      } else {
        // Found ahead from exactly this cursor, or found now (the first batch of a slice).
        const sameCursor = ahead && ahead.after.cursorAt === state.cursorAt && ahead.after.cursorKey === state.cursorKey;
        const found = sameCursor ? await ahead.found : await findBatch(trx, entity, condition, size);
        const full = found.matched === size && found.cursorAt !== null && found.cursorKey !== null;
        if (full && !dryRun) next = findAhead(entity, expired, { cursorAt: found.cursorAt as string, cursorKey: found.cursorKey as string }, size);
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

  /** Works through batches of one policy, heartbeating the cursor after each, for at most one slice. */
  async function applyRetentionPolicy(ref: PolicyRef): Promise<PolicyCounts> {
    const context = Context.current();
    const started = Date.now();
    let ahead: FoundAhead | undefined;
    for (;;) {
      const { next, ...counts } = await runBatch(ref, ahead);
      ahead = next;
      context.heartbeat(counts);
      if (counts.done || Date.now() - started > SLICE_MS) {
        await ahead?.found.catch(() => undefined);
        return counts;
      }
    }
  }

  /** Marks the policy done for this run; a live run writes its one audit row. A success ends a failure streak. */
  async function finishRetentionPolicy(ref: PolicyRef & { workflowId: string; runId: string }): Promise<PolicyCounts> {
    return db.transaction(async (trx) => {
      const { state, dryRun } = await loadState(trx, ref);
      if (state.status === 'pending') {
        await RetentionRunPolicy.query(trx).findById([ref.retentionRunId, ref.policyId]).patch({ status: 'completed' });
        if (!dryRun) {
          await RetentionAuditLog.query(trx)
            .insert({
              retentionRunId: ref.retentionRunId,
              policyId: ref.policyId,
              entity: state.entity,
              action: state.action,
              cutoffAt: state.cutoffAt,
              matched: state.matched,
              affected: state.affected,
              sampleIds: state.sampleIds,
              workflowId: ref.workflowId,
              runId: ref.runId,
            })
            .onConflict(['retention_run_id', 'policy_id'])
            .ignore();
        }
        await RetentionPolicy.query(trx)
          .findById(ref.policyId)
          .patch({ consecutiveFailures: 0, restingUntil: null, lastError: null, updatedAt: new Date() });
      }
      return { done: true, matched: Number(state.matched), affected: Number(state.affected) };
    });
  }

  /** Counts one failed run of the policy (once, however often this is retried); at the maximum it rests. */
  async function failRetentionPolicy(ref: PolicyRef & { error: string }): Promise<void> {
    await db.transaction(async (trx) => {
      const marked = await RetentionRunPolicy.query(trx)
        .findById([ref.retentionRunId, ref.policyId])
        .where('status', 'pending')
        .patch({ status: 'failed', error: ref.error });
      if (marked === 0) return;
      const policy = await RetentionPolicy.query(trx).findById(ref.policyId).forUpdate();
      if (!policy) return;
      const failures = policy.consecutiveFailures + 1;
      const restingUntil = failures >= deps.maxFailures ? new Date(Date.now() + deps.failureBackoffMinutes * 60_000) : null;
      await RetentionPolicy.query(trx)
        .findById(ref.policyId)
        .patch({ consecutiveFailures: failures, restingUntil, lastError: ref.error, updatedAt: new Date() });
    });
  }

  async function closeRetentionRun(input: { retentionRunId: string; status: RetentionRunStatus }): Promise<void> {
    await RetentionRun.query(db)
      .findById(input.retentionRunId)
      .where('status', 'running')
      .patch({ status: input.status, completedAt: new Date() });
  }

  return { openRetentionRun, applyRetentionPolicy, finishRetentionPolicy, failRetentionPolicy, closeRetentionRun };
}

export type RetentionActivities = ReturnType<typeof createRetentionActivities>;
