import { randomUUID } from 'node:crypto';
import { RetentionAuditLog, RetentionPolicy, RetentionRun, RetentionRunPolicy } from '../../db/models/Retention';
import { ENTITY_DEFINITIONS, supportedActions, type RetentionAction, type RetentionEntity } from '../../db/retentionEntities';
import { notFound, unprocessable, type ErrorDetail } from '../../lib/errors';
import { decodeCursor, page } from '../../lib/pagination';
import { startRetentionRun } from '../../lib/clients/retention';
import { IdParams } from '../../schemas/common';
import {
  CreateRetentionPolicyBody,
  ListRetentionAuditLogsQuery,
  ListRetentionPoliciesQuery,
  ListRetentionRunsQuery,
  RetentionAuditLogList,
  RetentionPolicyList,
  RetentionPolicyResponse,
  RetentionRunList,
  RetentionRunResponse,
  StartRetentionRunBody,
  StartRetentionRunResponse,
  UpdateRetentionPolicyBody,
  type RetentionCriteria,
  type RetentionRunView,
} from '../../schemas/retention';
import { RETENTION_RUN_WORKFLOW, retentionRunWorkflowId, type RetentionRunInput } from '../../workflows/retentionRun.contract';
import type { Db } from '../../lib/db';
import { defineRoute } from '../route';

const ADMIN = ['admin'] as const;
const READERS = ['operator', 'admin'] as const;

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

function progressOf(run: RetentionRun, policies: RetentionRunPolicy[]): RetentionRunView['progress'] {
  const settled = policies.filter((p) => p.status !== 'pending').length;
  if (run.status !== 'running') return { stage: run.status, percent: 100, detail: null };
  const current = policies.find((p) => p.status === 'pending');
  return {
    stage: current ? `policy ${current.entity}` : 'planning',
    percent: policies.length === 0 ? 0 : Math.floor((settled * 100) / policies.length),
    detail: current ? `${current.matched} matched, ${current.affected} changed` : null,
  };
}

function runView(run: RetentionRun): RetentionRunView {
  const policies = (run.policies ?? []).slice().sort((a, b) => a.position - b.position);
  return {
    id: run.id,
    status: run.status,
    dryRun: run.dryRun,
    trigger: run.trigger,
    asOf: run.asOf.toISOString(),
    workflowId: run.workflowId,
    policies: policies.map((p) => p.toView()),
    progress: progressOf(run, policies),
    createdAt: run.createdAt.toISOString(),
    completedAt: run.completedAt?.toISOString() ?? null,
  };
}

async function loadRun(db: Db, id: string): Promise<RetentionRun> {
  const run = await RetentionRun.query(db).findById(id).withGraphFetched('policies');
  if (!run) throw notFound('retention run');
  return run;
}

export const retentionRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/v1/retention/policies',
    summary: 'List retention policies, oldest first',
    tag: 'retention',
    access: ADMIN,
    rateGroup: 'retention',
    query: ListRetentionPoliciesQuery,
    responses: { 200: { description: 'a page of policies', schema: RetentionPolicyList } },
    handler: async ({ query, deps }) => {
      const limit = query.limit ?? 50;
      const after = decodeCursor(query.cursor, ['createdAt', 'id']);
      const q = RetentionPolicy.query(deps.db).orderBy([{ column: 'createdAt' }, { column: 'id' }]);
      if (query.entity) q.where('entity', query.entity);
      if (query.active !== undefined) q.where('active', query.active);
      if (after) q.whereRaw('(created_at, id) > (?, ?)', [after.createdAt, after.id]);
      const { items, nextCursor } = page(await q.limit(limit + 1), limit, (p) => ({ createdAt: p.createdAt.toISOString(), id: p.id }));
      return { status: 200, body: { items: items.map((p) => p.toView()), nextCursor } };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/retention/policies',
    summary: 'Create a retention policy for an entity of the allow-list',
    tag: 'retention',
    access: ADMIN,
    rateGroup: 'retention',
    body: CreateRetentionPolicyBody,
    responses: {
      201: { description: 'the policy', schema: RetentionPolicyResponse },
      422: { description: 'INVALID_RETENTION_POLICY: action or criteria column not allowed for the entity' },
    },
    handler: async ({ body, deps }) => {
      const criteria = body.criteria ?? {};
      checkPolicy(body.entity, body.action, criteria);
      const policy = await RetentionPolicy.query(deps.db).insertAndFetch({
        id: randomUUID(),
        entity: body.entity,
        action: body.action,
        retentionDays: body.retentionDays,
        criteria,
        active: body.active ?? true,
      });
      return { status: 201, body: { retentionPolicy: policy.toView() } };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/retention/policies/:id',
    summary: 'One retention policy with its failure streak',
    tag: 'retention',
    access: ADMIN,
    rateGroup: 'retention',
    params: IdParams,
    responses: { 200: { description: 'the policy', schema: RetentionPolicyResponse }, 404: { description: 'unknown policy' } },
    handler: async ({ params, deps }) => {
      const policy = await RetentionPolicy.query(deps.db).findById(params.id);
      if (!policy) throw notFound('retention policy');
      return { status: 200, body: { retentionPolicy: policy.toView() } };
    },
  }),

  defineRoute({
    method: 'patch',
    path: '/api/v1/retention/policies/:id',
    summary: 'Change a policy’s action, days, criteria or active flag (its entity is fixed)',
    tag: 'retention',
    access: ADMIN,
    rateGroup: 'retention',
    params: IdParams,
    body: UpdateRetentionPolicyBody,
    responses: {
      200: { description: 'the policy', schema: RetentionPolicyResponse },
      404: { description: 'unknown policy' },
      422: { description: 'INVALID_RETENTION_POLICY' },
    },
    handler: async ({ params, body, deps }) => {
      const policy = await deps.db.transaction(async (trx) => {
        const current = await RetentionPolicy.query(trx).findById(params.id).forUpdate();
        if (!current) throw notFound('retention policy');
        checkPolicy(current.entity, body.action ?? current.action, body.criteria ?? current.criteria);
        return current.$query(trx).patchAndFetch({ ...body, updatedAt: new Date() });
      });
      return { status: 200, body: { retentionPolicy: policy.toView() } };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/retention/runs',
    summary: 'Start a retention run over the named policies, or every active one',
    tag: 'retention',
    access: ADMIN,
    rateGroup: 'retention',
    body: StartRetentionRunBody,
    responses: {
      202: { description: 'the retention run and its workflow run', schema: StartRetentionRunResponse },
      422: { description: 'UNKNOWN_POLICY: a named policy does not exist' },
    },
    handler: async ({ body, principal, deps }) => {
      if (body.policyIds) {
        const found = new Set((await RetentionPolicy.query(deps.db).findByIds(body.policyIds).select('id')).map((p) => p.id));
        const missing = body.policyIds.filter((id) => !found.has(id));
        if (missing.length > 0) {
          throw unprocessable('UNKNOWN_POLICY', 'named policies do not exist', missing.map((id) => ({ path: 'body/policyIds', message: `${id} does not exist` })));
        }
      }
      const id = randomUUID();
      const input: RetentionRunInput & { retentionRunId: string } = {
        retentionRunId: id,
        dryRun: body.dryRun,
        policyIds: body.policyIds,
        asOf: new Date().toISOString(),
        trigger: 'api',
        requestedBy: principal.sub,
      };
      // The record exists before the run starts, so GET answers at once; the workflow's first step inserts it too (idempotently).
      const run = await deps.db.transaction(async (trx) => {
        await RetentionRun.query(trx).insert({
          id,
          workflowId: retentionRunWorkflowId(id),
          status: 'running',
          dryRun: body.dryRun,
          trigger: 'api',
          requestedBy: principal.sub,
          asOf: new Date(input.asOf as string),
        });
        deps.metrics.workflowStarts.inc({ type: RETENTION_RUN_WORKFLOW });
        const summary = `${body.dryRun ? 'Dry run' : 'Retention run'} of ${body.policyIds ? `${body.policyIds.length} named` : 'all active'} policies`;
        return startRetentionRun(deps.temporal, deps.config, input, summary);
      });
      return { status: 202, body: { retentionRun: runView(await loadRun(deps.db, id)), run } };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/retention/runs',
    summary: 'List retention runs, newest first',
    tag: 'retention',
    access: READERS,
    rateGroup: 'retention',
    query: ListRetentionRunsQuery,
    responses: { 200: { description: 'a page of retention runs', schema: RetentionRunList } },
    handler: async ({ query, deps }) => {
      const limit = query.limit ?? 50;
      const after = decodeCursor(query.cursor, ['createdAt', 'id']);
      const q = RetentionRun.query(deps.db)
        .withGraphFetched('policies')
        .orderBy([{ column: 'createdAt', order: 'desc' }, { column: 'id', order: 'desc' }]);
      if (query.status) q.where('status', query.status);
      if (after) q.whereRaw('(created_at, id) < (?, ?)', [after.createdAt, after.id]);
      const { items, nextCursor } = page(await q.limit(limit + 1), limit, (r) => ({ createdAt: r.createdAt.toISOString(), id: r.id }));
      return { status: 200, body: { items: items.map(runView), nextCursor } };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/retention/runs/:id',
    summary: 'A retention run: per policy matched, affected, sample ids and error, and its progress',
    tag: 'retention',
    access: READERS,
    rateGroup: 'retention',
    params: IdParams,
    responses: { 200: { description: 'the retention run', schema: RetentionRunResponse }, 404: { description: 'unknown run' } },
    handler: async ({ params, deps }) => ({ status: 200, body: { retentionRun: runView(await loadRun(deps.db, params.id)) } }),
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/retention/audit-logs',
    summary: 'The retention audit log: one row per policy per live run, newest first',
    tag: 'retention',
    access: READERS,
    rateGroup: 'retention',
    query: ListRetentionAuditLogsQuery,
    responses: { 200: { description: 'a page of audit rows', schema: RetentionAuditLogList } },
    handler: async ({ query, deps }) => {
      const limit = query.limit ?? 50;
      const after = decodeCursor(query.cursor, ['id']);
      const q = RetentionAuditLog.query(deps.db).orderBy('id', 'desc');
      if (query.policyId) q.where('policyId', query.policyId);
      if (query.retentionRunId) q.where('retentionRunId', query.retentionRunId);
      if (query.entity) q.where('entity', query.entity);
      if (after) q.where('id', '<', after.id);
      const { items, nextCursor } = page(await q.limit(limit + 1), limit, (a) => ({ id: String(a.id) }));
      return { status: 200, body: { items: items.map((a) => a.toView()), nextCursor } };
    },
  }),
];
