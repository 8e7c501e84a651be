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
import { DEFAULT_PAGE_SIZE, type Page, type PageQuery } from '../page';

/** The business rules a schema cannot express: the action and every criteria column must be allowed for the entity. */
function checkPolicy(entity: RetentionEntity, action: RetentionAction, criteria: RetentionCriteria): void {
  const problems: ErrorDetail[] = [];
  if (!supportedActions(entity).includes(action)) {
    problems.push({ path: 'body/action', message: `${entity} supports ${supportedActions(entity).join(', ')}` });
  }
  const allowed = ENTITY_DEFINITIONS[entity].criteriaColumns;
  for (const column of Object.keys(criteria)) {
    if (!allowed.includes(column)) {
      problems.push({ path: `body/criteria/${column}`, message: `not a criteria column of ${entity} (allowed: ${allowed.join(', ') || 'none'})` });
    }
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

export async function createRetentionPolicy(db: Db, body: CreateRetentionPolicyBody): Promise<RetentionPolicyView> {
  const criteria = body.criteria ?? {};
  checkPolicy(body.entity, body.action, criteria);
  const policy = await RetentionPolicy.query(db).insertAndFetch({
    id: randomUUID(),
    entity: body.entity,
    action: body.action,
    retentionDays: body.retentionDays,
    criteria,
    active: body.active ?? true,
  });
  return policy.toView();
}

export async function getRetentionPolicy(db: Db, id: string): Promise<RetentionPolicyView> {
  const policy = await RetentionPolicy.query(db).findById(id);
  if (!policy) throw notFound('retention policy');
  return policy.toView();
}

/** Changes a policy under its row lock; its entity is fixed, so the change is checked against it. */
export async function updateRetentionPolicy(db: Db, id: string, body: UpdateRetentionPolicyBody): Promise<RetentionPolicyView> {
  const policy = await db.transaction(async (trx) => {
    const current = await RetentionPolicy.query(trx).findById(id).forUpdate();
    if (!current) throw notFound('retention policy');
    checkPolicy(current.entity, body.action ?? current.action, body.criteria ?? current.criteria);
    return current.$query(trx).patchAndFetch({ ...body, updatedAt: new Date() });
  });
  return policy.toView();
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
