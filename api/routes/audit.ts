import { AuditEventList, ListAuditEventsQuery } from '../../schemas/audit';
import { listAuditEvents } from '../../services/audit';
import { defineRoute } from '../route';

export const auditRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/v1/audit-events',
    summary: 'The audit trail of privileged actions, newest first (filter by action, actor, target, time); each read is itself recorded',
    tag: 'audit',
    access: ['support', 'admin'],
    rateGroup: 'audit',
    query: ListAuditEventsQuery,
    responses: { 200: { description: 'a page of audit events', schema: AuditEventList } },
    handler: async ({ query, principal, requestId, deps }) => ({
      status: 200,
      body: await listAuditEvents(deps.db, query, { actor: principal, requestId }),
    }),
  }),
];
