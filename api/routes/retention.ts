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
} from '../../schemas/retention';
import {
  createRetentionPolicy,
  getRetentionPolicy,
  getRetentionRun,
  listRetentionAuditLogs,
  listRetentionPolicies,
  listRetentionRuns,
  requestRetentionRun,
  updateRetentionPolicy,
  type RetentionRunStarter,
} from '../../services/retention';
import { RETENTION_RUN_WORKFLOW, retentionRunWorkflowId } from '../../workflows/retentionRun.contract';
import type { AppDeps } from '../deps';
import { defineRoute } from '../route';

const ADMIN = ['admin'] as const;
const READERS = ['operator', 'admin'] as const;

/** Retention runs requested through the API start through the typed client, counted. */
function retentionRunStarter(deps: AppDeps): RetentionRunStarter {
  return {
    workflowIdOf: retentionRunWorkflowId,
    start: (input, summary) => {
      deps.metrics.workflowStarts.inc({ type: RETENTION_RUN_WORKFLOW });
      return startRetentionRun(deps.temporal, deps.config, input, summary);
    },
  };
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
    handler: async ({ query, deps }) => ({ status: 200, body: await listRetentionPolicies(deps.db, query) }),
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/retention/policies',
    summary: 'Create a retention policy for an entity of the allow-list (audited as retention_policy.create)',
    tag: 'retention',
    access: ADMIN,
    rateGroup: 'retention',
    body: CreateRetentionPolicyBody,
    responses: {
      201: { description: 'the policy', schema: RetentionPolicyResponse },
      422: { description: 'INVALID_RETENTION_POLICY: action or criteria column not allowed for the entity' },
    },
    handler: async ({ body, principal, requestId, deps }) => ({
      status: 201,
      body: { retentionPolicy: await createRetentionPolicy(deps.db, body, { actor: principal, requestId }) },
    }),
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
    handler: async ({ params, deps }) => ({ status: 200, body: { retentionPolicy: await getRetentionPolicy(deps.db, params.id) } }),
  }),

  defineRoute({
    method: 'patch',
    path: '/api/v1/retention/policies/:id',
    summary: 'Change a policy’s action, days, criteria or active flag (its entity is fixed; audited as retention_policy.update)',
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
    handler: async ({ params, body, principal, requestId, deps }) => ({
      status: 200,
      body: { retentionPolicy: await updateRetentionPolicy(deps.db, params.id, body, { actor: principal, requestId }) },
    }),
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/retention/runs',
    summary: 'Start a retention run over the named policies, or every active one (audited as retention_run.start)',
    tag: 'retention',
    access: ADMIN,
    rateGroup: 'retention',
    body: StartRetentionRunBody,
    responses: {
      202: { description: 'the retention run and its workflow run', schema: StartRetentionRunResponse },
      422: { description: 'UNKNOWN_POLICY: a named policy does not exist' },
    },
    handler: async ({ body, principal, requestId, deps }) => ({
      status: 202,
      body: await requestRetentionRun(deps.db, { ...body, by: { actor: principal, requestId } }, retentionRunStarter(deps)),
    }),
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
    handler: async ({ query, deps }) => ({ status: 200, body: await listRetentionRuns(deps.db, query) }),
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
    handler: async ({ params, deps }) => ({ status: 200, body: { retentionRun: await getRetentionRun(deps.db, params.id) } }),
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
    handler: async ({ query, deps }) => ({ status: 200, body: await listRetentionAuditLogs(deps.db, query) }),
  }),
];
