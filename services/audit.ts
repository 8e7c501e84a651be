// The audit trail of privileged actions (SPEC §3): who did what to which target, why, and
// how it went. A Temporal call is recorded `pending` first and settled after, so a crash
// in between leaves a visible pending row, never none. Rows are insert-only but for that outcome.
import type { Db } from '../lib/db';
import { decodeCursor, page } from '../lib/pagination';
import type { AuditEventView, AuditOutcome, ListAuditEventsQuery } from '../schemas/audit';
import { DEFAULT_PAGE_SIZE, type Page } from './page';

export interface AuditActor {
  sub: string;
  roles: readonly string[];
}

/** Who acts, in which request: what every audited action carries. */
export interface AuditContext {
  actor: AuditActor;
  requestId: string | null;
}

export interface AuditEntry extends AuditContext {
  action: string;
  /** `kind:id`, e.g. `run:<workflowId>`. */
  target: string;
  reason?: string | null;
  before?: unknown;
  after?: unknown;
}

interface AuditRow {
  id: string;
  at: Date;
  actorSub: string;
  actorRoles: string[];
  action: string;
  target: string;
  reason: string | null;
  before: unknown;
  after: unknown;
  outcome: AuditOutcome;
  requestId: string | null;
}

const json = (value: unknown) => (value === undefined || value === null ? null : JSON.stringify(value));

/** Writes one audit row; answers its id. */
export async function recordAuditEvent(db: Db, entry: AuditEntry, outcome: AuditOutcome): Promise<string> {
  const [row] = (await db('audit_events')
    .insert({
      actorSub: entry.actor.sub,
      actorRoles: [...entry.actor.roles],
      action: entry.action,
      target: entry.target,
      reason: entry.reason ?? null,
      before: json(entry.before),
      after: json(entry.after),
      outcome,
      requestId: entry.requestId,
    })
    .returning('id')) as Array<{ id: string }>;
  return String(row.id);
}

async function settleAuditEvent(db: Db, id: string, outcome: 'succeeded' | 'failed'): Promise<void> {
  await db('audit_events').where({ id, outcome: 'pending' }).update({ outcome });
}

/** Runs `action` and settles the pending audit row `id` with how it went. */
export async function settledAfter<T>(db: Db, id: string, action: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await action();
  } catch (err) {
    await settleAuditEvent(db, id, 'failed');
    throw err;
  }
  await settleAuditEvent(db, id, 'succeeded');
  return result;
}

/** Runs `action` between a pending audit row and its settled outcome. */
export async function audited<T>(db: Db, entry: AuditEntry, action: () => Promise<T>): Promise<T> {
  return settledAfter(db, await recordAuditEvent(db, entry, 'pending'), action);
}

function viewOf(row: AuditRow): AuditEventView {
  return {
    id: String(row.id),
    at: row.at.toISOString(),
    actor: { sub: row.actorSub, roles: row.actorRoles },
    action: row.action,
    target: row.target,
    reason: row.reason,
    before: row.before ?? null,
    after: row.after ?? null,
    outcome: row.outcome,
    requestId: row.requestId,
  };
}

/** Audit rows newest first, filtered; the read itself is recorded as `audit.read`. */
export async function listAuditEvents(db: Db, query: ListAuditEventsQuery, reader: AuditContext): Promise<Page<AuditEventView>> {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const after = decodeCursor(query.cursor, ['id']);
  const q = db<AuditRow>('audit_events').select('*').orderBy('id', 'desc');
  if (query.action) q.where('action', query.action);
  if (query.actor) q.where('actorSub', query.actor);
  if (query.target) q.where('target', query.target);
  if (query.since) q.where('at', '>=', new Date(query.since));
  if (after) q.where('id', '<', after.id);
  const rows = (await q.limit(limit + 1)) as AuditRow[];
  const { items, nextCursor } = page(rows, limit, (row) => ({ id: String(row.id) }));
  const { cursor: _cursor, limit: _limit, ...filters } = query;
  await recordAuditEvent(db, { ...reader, action: 'audit.read', target: 'audit:events', after: { filters } }, 'succeeded');
  return { items: items.map(viewOf), nextCursor };
}
