import { Type, type Static, type TSchema } from '@sinclair/typebox';

export const Uuid = Type.String({ format: 'uuid', description: 'UUID' });
export const Timestamp = Type.String({ format: 'date-time' });
/** `from`/`to` query parameters accept a date or a date-time. */
export const DateOrDateTime = Type.String({
  anyOf: [{ format: 'date' }, { format: 'date-time' }],
  description: 'ISO 8601 date or date-time',
});
export const IdempotencyKey = Type.String({ pattern: '^[A-Za-z0-9._:-]{1,200}$' });

export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false });

export const Roles = ['admin', 'operator', 'support', 'finance', 'instructor', 'learner', 'service'] as const;
export type Role = (typeof Roles)[number];

export const ListQueryProperties = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
};

export const ListOf = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const RunStatus = Type.Union(
  ['Running', 'Completed', 'Failed', 'Canceled', 'Terminated', 'TimedOut', 'ContinuedAsNew', 'Unknown'].map((s) =>
    Type.Literal(s),
  ),
);

/** What every endpoint that starts a workflow answers. */
export const Run = Type.Object({
  workflowId: Type.String(),
  runId: Type.String(),
  type: Type.String(),
  status: RunStatus,
  uiUrl: Type.String({ format: 'uri' }),
});
export type Run = Static<typeof Run>;

export const Progress = Type.Object({
  stage: Type.String(),
  percent: Type.Integer({ minimum: 0, maximum: 100 }),
  detail: Type.Union([Type.String(), Type.Null()]),
});

export const ErrorBody = Type.Object({
  type: Type.Union(
    [
      'validation_error',
      'authentication_error',
      'permission_error',
      'not_found',
      'conflict',
      'rate_limited',
      'provider_error',
      'unavailable',
      'internal_error',
    ].map((t) => Type.Literal(t)),
  ),
  code: Type.String(),
  message: Type.String(),
  details: Type.Array(Type.Object({ path: Type.Optional(Type.String()), message: Type.String() })),
  requestId: Type.String(),
});

const Check = Type.Object({ ok: Type.Boolean(), detail: Type.String() });
export const ReadyBody = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
  checks: Type.Object({ database: Check, migrations: Check, temporal: Check, storage: Check, scanner: Check, stripe: Check }),
});
export const HealthBody = Type.Object({ status: Type.Literal('ok') });
