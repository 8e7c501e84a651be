// Retention policies as data: their CRUD rules (the action and every criteria column must
// fit the entity) and the audit log of what live runs did.
import { randomUUID } from 'node:crypto';
import { RetentionAuditLog, RetentionPolicy } from '../../db/models/Retention';
import { ENTITY_DEFINITIONS, supportedActions } from '../../db/retentionEntities';
import type { Db } from '../../lib/db';
import { notFound, unprocessable, type ErrorDetail } from '../../lib/errors';
import { decodeCursor, page } from '../../lib/pagination';
import type {
  CreateRetentionPolicyBody,
  RetentionAction,
  RetentionAuditLogView,
  RetentionCriteria,
  RetentionEntity,
  RetentionPolicyView,
  UpdateRetentionPolicyBody,
} from '../../schemas/retention';
import { recordAuditEvent, type AuditContext } from '../audit';
import { DEFAULT_PAGE_SIZE, type Page, type PageQuery } from '../page';

const policyTarget = (id: string) => `retention_policy:${id}`;

/**
 * The business rules a schema cannot express: the action and every criteria column must be
 * allowed for the entity, and the age must be at least the entity's minimum.
 */
function checkPolicy(entity: RetentionEntity, action: RetentionAction, criteria: RetentionCriteria, retentionDays: number): void {
  const problems: ErrorDetail[] = [];
  if (!supportedActions(entity).includes(action)) {
    problems.push({ path: 'body/action', message: `${entity} supports ${supportedActions(entity).join(', ')}` });
  }
  const { criteriaColumns: allowed, minRetentionDays } = ENTITY_DEFINITIONS[entity];
  for (const column of Object.keys(criteria)) {
    if (!allowed.includes(column)) {
      problems.push({ path: `body/criteria/${column}`, message: `not a criteria column of ${entity} (allowed: ${allowed.join(', ') || 'none'})` });
    }
  }
  if (minRetentionDays !== undefined && retentionDays < minRetentionDays) {
    problems.push({ path: 'body/retentionDays', message: `${entity} are kept at least ${minRetentionDays} days` });
  }
  if (problems.length > 0) throw unprocessable('INVALID_RETENTION_POLICY', 'the policy does not fit its entity', problems);
}

export async function listRetentionPolicies(
  db: Db,
  query: PageQuery & { entity?: RetentionEntity; active?: boolean },
): Promise<Page<RetentionPolicyView>> {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const after = decodeCursor(query.cursor, ['createdAt', 'id']);
  const q = RetentionPolicy.query(db).orderBy([{ column: 'createdAt' }, { column: 'id' }]);
  if (query.entity) q.where('entity', query.entity);
  if (query.active !== undefined) q.where('active', query.active);
  if (after) q.whereRaw('(created_at, id) > (?, ?)', [after.createdAt, after.id]);
  const { items, nextCursor } = page(await q.limit(limit + 1), limit, (p) => ({ createdAt: p.createdAt.toISOString(), id: p.id }));
  return { items: items.map((p) => p.toView()), nextCursor };
}

/** Creates a policy and its `retention_policy.create` audit row in one transaction. */
export async function createRetentionPolicy(db: Db, body: CreateRetentionPolicyBody, by: AuditContext): Promise<RetentionPolicyView> {
  const { reason, ...terms } = body;
  const criteria = terms.criteria ?? {};
  checkPolicy(terms.entity, terms.action, criteria, terms.retentionDays);
  return db.transaction(async (trx) => {
    const policy = await RetentionPolicy.query(trx).insertAndFetch({
      id: randomUUID(),
      entity: terms.entity,
      action: terms.action,
      retentionDays: terms.retentionDays,
      criteria,
      active: terms.active ?? true,
    });
    const view = policy.toView();
    await recordAuditEvent(trx, { ...by, action: 'retention_policy.create', target: policyTarget(view.id), reason, after: view }, 'succeeded');
    return view;
  });
}

export async function getRetentionPolicy(db: Db, id: string): Promise<RetentionPolicyView> {
  const policy = await RetentionPolicy.query(db).findById(id);
  if (!policy) throw notFound('retention policy');
  return policy.toView();
}

/**
 * Changes a policy under its row lock (its entity is fixed, so the change is checked against it),
 * with its `retention_policy.update` audit row in the same transaction.
 */
export async function updateRetentionPolicy(db: Db, id: string, body: UpdateRetentionPolicyBody, by: AuditContext): Promise<RetentionPolicyView> {
  const { reason, ...change } = body;
  return db.transaction(async (trx) => {
    const current = await RetentionPolicy.query(trx).findById(id).forUpdate();
    if (!current) throw notFound('retention policy');
    checkPolicy(current.entity, change.action ?? current.action, change.criteria ?? current.criteria, change.retentionDays ?? current.retentionDays);
    const before = current.toView();
    const after = (await current.$query(trx).patchAndFetch({ ...change, updatedAt: new Date() })).toView();
    await recordAuditEvent(trx, { ...by, action: 'retention_policy.update', target: policyTarget(id), reason, before, after }, 'succeeded');
    return after;
  });
}

/** Named policies must all exist (422 UNKNOWN_POLICY otherwise). */
export async function checkPoliciesExist(db: Db, policyIds: string[]): Promise<void> {
  const found = new Set((await RetentionPolicy.query(db).findByIds(policyIds).select('id')).map((p) => p.id));
  const missing = policyIds.filter((id) => !found.has(id));
  if (missing.length > 0) {
    throw unprocessable('UNKNOWN_POLICY', 'named policies do not exist', missing.map((id) => ({ path: 'body/policyIds', message: `${id} does not exist` })));
  }
}

export async function listRetentionAuditLogs(
  db: Db,
  query: PageQuery & { policyId?: string; retentionRunId?: string; entity?: RetentionEntity },
): Promise<Page<RetentionAuditLogView>> {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const after = decodeCursor(query.cursor, ['id']);
  const q = RetentionAuditLog.query(db).orderBy('id', 'desc');
  if (query.policyId) q.where('policyId', query.policyId);
  if (query.retentionRunId) q.where('retentionRunId', query.retentionRunId);
  if (query.entity) q.where('entity', query.entity);
  if (after) q.where('id', '<', after.id);
  const { items, nextCursor } = page(await q.limit(limit + 1), limit, (a) => ({ id: String(a.id) }));
  return { items: items.map((a) => a.toView()), nextCursor };
}
