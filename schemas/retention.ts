import { Type, type Static } from '@sinclair/typebox';
import { AuditReason } from './audit';
import { ListOf, ListQueryProperties, Progress, Run, Timestamp, Uuid } from './common';

// The names a policy may use; what each entity and action means in SQL is db/retentionEntities.ts, which builds on these.
export const RETENTION_ACTIONS = ['hard-delete', 'soft-delete', 'anonymize'] as const;
export type RetentionAction = (typeof RETENTION_ACTIONS)[number];

export const RETENTION_ENTITIES = [
  'telemetry_events',
  'stripe_events',
  'asset_ingestion_events',
  'abandoned_uploads',
  'quarantined_objects',
  'telemetry_export_objects',
  'audit_events',
  'outbox_events',
  'webhook_deliveries',
] as const;
export type RetentionEntity = (typeof RETENTION_ENTITIES)[number];

export const RetentionEntity = Type.Union(RETENTION_ENTITIES.map((e) => Type.Literal(e)));
export const RetentionAction = Type.Union(RETENTION_ACTIONS.map((a) => Type.Literal(a)));

/**
 * `column: value` or `column: [values]`, equality only. Columns are checked against the
 * entity's allow-list; values are bound, and limited to the characters of identifiers,
 * statuses and event types, so no SQL text is ever stored.
 */
const CriterionScalar = Type.Union([Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,200}$' }), Type.Integer(), Type.Boolean()]);
export const RetentionCriteria = Type.Record(
  Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' }),
  Type.Union([CriterionScalar, Type.Array(CriterionScalar, { minItems: 1, maxItems: 100 })]),
  { maxProperties: 10, additionalProperties: false },
);
export type RetentionCriteria = Static<typeof RetentionCriteria>;

const RetentionDays = Type.Integer({ minimum: 1, maximum: 36500, description: 'age in days past which the action applies' });

export const RetentionPolicy = Type.Object({
  id: Uuid,
  entity: RetentionEntity,
  action: RetentionAction,
  retentionDays: Type.Integer(),
  criteria: RetentionCriteria,
  active: Type.Boolean(),
  consecutiveFailures: Type.Integer(),
  restingUntil: Type.Union([Timestamp, Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type RetentionPolicyView = Static<typeof RetentionPolicy>;

export const CreateRetentionPolicyBody = Type.Object(
  {
    entity: RetentionEntity,
    action: RetentionAction,
    retentionDays: RetentionDays,
    criteria: Type.Optional(RetentionCriteria),
    active: Type.Optional(Type.Boolean({ default: true })),
    reason: Type.Optional(AuditReason),
  },
  { additionalProperties: false },
);
export type CreateRetentionPolicyBody = Static<typeof CreateRetentionPolicyBody>;

export const UpdateRetentionPolicyBody = Type.Object(
  {
    action: Type.Optional(RetentionAction),
    retentionDays: Type.Optional(RetentionDays),
    criteria: Type.Optional(RetentionCriteria),
    active: Type.Optional(Type.Boolean()),
    reason: Type.Optional(AuditReason),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateRetentionPolicyBody = Static<typeof UpdateRetentionPolicyBody>;

export const RetentionPolicyResponse = Type.Object({ retentionPolicy: RetentionPolicy });
export const RetentionPolicyList = ListOf(RetentionPolicy);
export const ListRetentionPoliciesQuery = Type.Object(
  { entity: Type.Optional(RetentionEntity), active: Type.Optional(Type.Boolean()), ...ListQueryProperties },
  { additionalProperties: false },
);

export const RetentionRunStatus = Type.Union([
  Type.Literal('running'),
  Type.Literal('completed'),
  Type.Literal('failed'),
  Type.Literal('canceled'),
]);
export type RetentionRunStatus = Static<typeof RetentionRunStatus>;

export const RetentionRunPolicy = Type.Object({
  policyId: Uuid,
  entity: RetentionEntity,
  action: RetentionAction,
  status: Type.Union(['pending', 'completed', 'failed', 'skipped'].map((s) => Type.Literal(s))),
  cutoffAt: Timestamp,
  matched: Type.Integer(),
  affected: Type.Integer(),
  sampleIds: Type.Array(Type.String()),
  error: Type.Union([Type.String(), Type.Null()]),
});
export type RetentionRunPolicyView = Static<typeof RetentionRunPolicy>;

export const RetentionRun = Type.Object({
  id: Uuid,
  status: RetentionRunStatus,
  dryRun: Type.Boolean(),
  trigger: Type.Union([Type.Literal('api'), Type.Literal('schedule')]),
  asOf: Timestamp,
  workflowId: Type.String(),
  policies: Type.Array(RetentionRunPolicy),
  progress: Progress,
  createdAt: Timestamp,
  completedAt: Type.Union([Timestamp, Type.Null()]),
});
export type RetentionRunView = Static<typeof RetentionRun>;

export const StartRetentionRunBody = Type.Object(
  {
    dryRun: Type.Boolean(),
    policyIds: Type.Optional(Type.Array(Uuid, { minItems: 1, maxItems: 100, uniqueItems: true })),
    reason: Type.Optional(AuditReason),
  },
  { additionalProperties: false },
);
export const StartRetentionRunResponse = Type.Object({ retentionRun: RetentionRun, run: Run });
export const RetentionRunResponse = Type.Object({ retentionRun: RetentionRun });
export const RetentionRunList = ListOf(RetentionRun);
export const ListRetentionRunsQuery = Type.Object(
  { status: Type.Optional(RetentionRunStatus), ...ListQueryProperties },
  { additionalProperties: false },
);

export const RetentionAuditLog = Type.Object({
  id: Type.String(),
  retentionRunId: Uuid,
  policyId: Uuid,
  entity: RetentionEntity,
  action: RetentionAction,
  cutoffAt: Timestamp,
  matched: Type.Integer(),
  affected: Type.Integer(),
  sampleIds: Type.Array(Type.String()),
  workflowId: Type.String(),
  runId: Type.String(),
  createdAt: Timestamp,
});
export type RetentionAuditLogView = Static<typeof RetentionAuditLog>;
export const RetentionAuditLogList = ListOf(RetentionAuditLog);
export const ListRetentionAuditLogsQuery = Type.Object(
  {
    policyId: Type.Optional(Uuid),
    retentionRunId: Type.Optional(Uuid),
    entity: Type.Optional(RetentionEntity),
    ...ListQueryProperties,
  },
  { additionalProperties: false },
);

/** Input of the retentionRun workflow; a scheduled run names neither id nor time, and takes its own. */
export const RetentionRunInput = Type.Object({
  retentionRunId: Type.Optional(Uuid),
  dryRun: Type.Boolean(),
  policyIds: Type.Optional(Type.Array(Uuid)),
  /** The moment cut-offs are measured from (default: when the run started); fixed for the whole run. */
  asOf: Type.Optional(Timestamp),
  trigger: Type.Union([Type.Literal('api'), Type.Literal('schedule')]),
  requestedBy: Type.Optional(Type.String()),
  /** Payloads are encrypted (SPEC §3): the failure message names the failed policies only, their errors go in its details. */
  encryptedHistory: Type.Optional(Type.Boolean()),
});
export type RetentionRunInput = Static<typeof RetentionRunInput>;

export const RetentionRunResult = Type.Object({
  retentionRunId: Uuid,
  status: RetentionRunStatus,
  policies: Type.Array(
    Type.Object({ policyId: Uuid, status: Type.String(), matched: Type.Integer(), affected: Type.Integer() }),
  ),
});
export type RetentionRunResult = Static<typeof RetentionRunResult>;
