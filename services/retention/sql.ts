// The retention SQL builder. Table and column names come only from the allow-list
// (db/retentionEntities.ts); everything a user wrote is a bound value.
import type { Knex } from 'knex';
import type { ActionSpec, ColumnValue, EntityDefinition } from '../../db/retentionEntities';
import type { RetentionCriteria } from '../../schemas/retention';
import { PermanentFailure } from '../permanentFailure';

export interface SqlPart {
  sql: string;
  bindings: Knex.RawBinding[];
}

/** A position in an entity's keyset order: `(timestamp, key)`. */
export interface KeysetCursor {
  cursorAt: string | null;
  cursorKey: string | null;
}

export const and = (parts: SqlPart[]): SqlPart => ({
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
      throw new PermanentFailure(`criteria column ${column} is not allowed for ${entity.table}`, 'InvalidRetentionPolicy');
    }
    const values = (Array.isArray(value) ? value : [value]).map(String);
    return { sql: '??::text = any(?::text[])', bindings: [column, values] };
  });
}

/** Rows of the policy past its cut-off that still need the action (the cursor is added separately). */
export function expiredRows(entity: EntityDefinition, action: ActionSpec, criteria: RetentionCriteria, cutoffAt: Date): SqlPart {
  return and([
    { sql: '?? < ?', bindings: [entity.timestampColumn, cutoffAt] },
    ...equalities(entity.scope),
    ...equalities(action.scope ?? {}),
    ...criteriaParts(entity, criteria),
  ]);
}

/** Rows past the committed cursor: the keyset condition `(timestamp, key) > cursor`. */
export function pastCursor(entity: EntityDefinition, expired: SqlPart, cursor: KeysetCursor): SqlPart {
  if (cursor.cursorAt === null || cursor.cursorKey === null) return expired;
  return and([
    expired,
    { sql: `(??, ??) > (?::timestamptz, ?::${entity.keyType})`, bindings: [entity.timestampColumn, entity.key, cursor.cursorAt, cursor.cursorKey] },
  ]);
}

/** Rows up to and including the keyset position `(cursorAt, cursorKey)`. */
export function upTo(entity: EntityDefinition, cursorAt: string, cursorKey: string): SqlPart {
  return { sql: `(??, ??) <= (?::timestamptz, ?::${entity.keyType})`, bindings: [entity.timestampColumn, entity.key, cursorAt, cursorKey] };
}

/** Rows whose key is one of `keys`. */
export function keyIn(entity: EntityDefinition, keys: string[]): SqlPart {
  return { sql: `?? = any(?::${entity.keyType}[])`, bindings: [entity.key, keys] };
}

function assignment(column: string, value: ColumnValue): SqlPart {
  if (value === null) return { sql: '?? = null', bindings: [column] };
  if (typeof value === 'string') return { sql: '?? = ?', bindings: [column, value] };
  if ('now' in value) return { sql: '?? = now()', bindings: [column] };
  return { sql: `?? = '{}'::jsonb`, bindings: [column] };
}

/** The action as SQL on the rows of `target`: a DELETE, or an UPDATE of the entity's columns. */
export function actionStatement(entity: EntityDefinition, action: ActionSpec, target: SqlPart): SqlPart {
  if (!action.set) return { sql: `delete from ?? where ${target.sql}`, bindings: [entity.table, ...target.bindings] };
  const sets = Object.entries(action.set).map(([column, value]) => assignment(column, value));
  return {
    sql: `update ?? set ${sets.map((s) => s.sql).join(', ')} where ${target.sql}`,
    bindings: [entity.table, ...sets.flatMap((s) => s.bindings), ...target.bindings],
  };
}
