import { Type, type Static } from '@sinclair/typebox';
import { ListOf, ListQueryProperties, Timestamp } from './common';

export const AuditOutcome = Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]);
export type AuditOutcome = Static<typeof AuditOutcome>;

export const AuditEvent = Type.Object({
  id: Type.String({ description: 'increasing with time' }),
  at: Timestamp,
  actor: Type.Object({ sub: Type.String(), roles: Type.Array(Type.String()) }),
  action: Type.String({ description: 'e.g. run.cancel' }),
  target: Type.String({ description: '`kind:id`, e.g. run:<workflowId>' }),
  reason: Type.Union([Type.String(), Type.Null()]),
  before: Type.Unknown(),
  after: Type.Unknown(),
  outcome: AuditOutcome,
  requestId: Type.Union([Type.String(), Type.Null()]),
});
export type AuditEventView = Static<typeof AuditEvent>;
export const AuditEventList = ListOf(AuditEvent);

export const ListAuditEventsQuery = Type.Object(
  {
    action: Type.Optional(Type.String({ pattern: '^[a-z_]+\\.[a-z_]+$' })),
    actor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    target: Type.Optional(Type.String({ minLength: 3, maxLength: 500, pattern: '^[a-z_-]+:.+$' })),
    since: Type.Optional(Type.String({ format: 'date-time' })),
    ...ListQueryProperties,
  },
  { additionalProperties: false },
);
export type ListAuditEventsQuery = Static<typeof ListAuditEventsQuery>;

/** The `reason` every privileged write accepts. */
export const AuditReason = Type.String({ minLength: 3, maxLength: 1000 });
