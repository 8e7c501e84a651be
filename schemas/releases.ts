import { Type, type Static } from '@sinclair/typebox';
import { ListOf, ListQueryProperties, Run, Timestamp, Uuid } from './common';

export const GATE_KEYS = ['quality', 'security', 'observability', 'compliance', 'change'] as const;
export type GateKey = (typeof GATE_KEYS)[number];

const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

export const RELEASE_STATUSES = ['pending', 'blocked', 'ready', 'approved', 'expired', 'failed'] as const;
export const ReleaseStatus = literals(RELEASE_STATUSES);
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];
/** While a run is open its status moves between these; the others are final. */
export const OPEN_RELEASE_STATUSES: readonly ReleaseStatus[] = ['pending', 'blocked', 'ready'];

export const EVALUATION_STATUSES = ['pass', 'fail', 'waived'] as const;
export const EvaluationStatus = literals(EVALUATION_STATUSES);
export type EvaluationStatus = (typeof EVALUATION_STATUSES)[number];
export const GateStatus = literals(['pending', ...EVALUATION_STATUSES]);
export type GateStatus = 'pending' | EvaluationStatus;

const fraction = (description: string) => Type.Optional(Type.Number({ minimum: 0, maximum: 1, description }));
const count = (description: string) => Type.Optional(Type.Integer({ minimum: 0, description }));

/** Measurements the auto gates are evaluated from; rates are fractions 0–1. */
export const ReleaseMetrics = Type.Object(
  {
    coverage: fraction('test coverage'),
    testFailureRate: fraction('share of failing tests'),
    criticalVulnerabilities: count('open critical vulnerabilities'),
    highVulnerabilities: count('open high vulnerabilities'),
    openIncidents: count('open incidents'),
    errorRate: fraction('share of failing requests'),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ReleaseMetrics = Static<typeof ReleaseMetrics>;
export type MetricName = keyof ReleaseMetrics;

export const Criterion = Type.Object({
  metric: literals(['coverage', 'testFailureRate', 'criticalVulnerabilities', 'highVulnerabilities', 'openIncidents', 'errorRate'] as const),
  comparison: literals(['atLeast', 'atMost'] as const),
  threshold: Type.Number(),
});
export type Criterion = Static<typeof Criterion>;

export const ChecklistGate = Type.Object({
  key: Type.String(),
  title: Type.String(),
  kind: literals(['auto', 'manual'] as const),
  required: Type.Boolean(),
  criteria: Type.Array(Criterion),
  defaultOwners: Type.Array(Type.String()),
});
export type ChecklistGate = Static<typeof ChecklistGate>;

/** A gate of a run: its checklist entry and where it stands now. */
export const GateState = Type.Composite([ChecklistGate, Type.Object({ status: GateStatus })]);
export type GateState = Static<typeof GateState>;

export const ChangeFreeze = Type.Object({
  cron: Type.String(),
  timezone: Type.String(),
  durationMinutes: Type.Integer(),
});
export const ChecklistResponse = Type.Object({ gates: Type.Array(ChecklistGate), changeFreeze: ChangeFreeze });

export const ReleaseWarning = Type.Object({
  code: Type.String(),
  message: Type.String(),
  freezeStart: Type.Optional(Timestamp),
  freezeEnd: Type.Optional(Timestamp),
});
export type ReleaseWarning = Static<typeof ReleaseWarning>;

const Owner = Type.String({ minLength: 1, maxLength: 100 });

export const CreateReleaseBody = Type.Object(
  {
    version: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$' }),
    environment: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,39}$' }),
    changeWindowStart: Timestamp,
    changeWindowEnd: Timestamp,
    owners: Type.Optional(Type.Array(Owner, { maxItems: 20, uniqueItems: true })),
    metrics: Type.Optional(ReleaseMetrics),
  },
  { additionalProperties: false },
);
export type CreateReleaseBody = Static<typeof CreateReleaseBody>;

export const GateEvaluationBody = Type.Object(
  {
    status: EvaluationStatus,
    metrics: Type.Optional(ReleaseMetrics),
    notes: Type.Optional(Type.String({ minLength: 1, maxLength: 4000 })),
    evidenceUrl: Type.Optional(Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2000 })),
    reason: Type.Optional(Type.String({ minLength: 3, maxLength: 1000, description: 'for the audit trail (a waiver is audited)' })),
  },
  { additionalProperties: false },
);

export const EvaluateBody = Type.Object({ metrics: Type.Optional(ReleaseMetrics) }, { additionalProperties: false });

export const PublicIdParams = Type.Object({ publicId: Uuid }, { additionalProperties: false });
export const GateParams = Type.Object(
  { publicId: Uuid, gateKey: Type.String({ pattern: '^[a-z][a-z0-9_-]{0,39}$' }) },
  { additionalProperties: false },
);

export const GateEvaluation = Type.Object({
  id: Type.String(),
  status: EvaluationStatus,
  source: literals(['auto', 'manual'] as const),
  metrics: Type.Union([ReleaseMetrics, Type.Null()]),
  notes: Type.Union([Type.String(), Type.Null()]),
  evidenceUrl: Type.Union([Type.String(), Type.Null()]),
  actor: Type.String(),
  createdAt: Timestamp,
});
export type GateEvaluation = Static<typeof GateEvaluation>;

export const ReleaseGate = Type.Composite([GateState, Type.Object({ evaluations: Type.Array(GateEvaluation) })]);

export const Release = Type.Object({
  publicId: Uuid,
  version: Type.String(),
  environment: Type.String(),
  status: ReleaseStatus,
  readinessScore: Type.Integer({ minimum: 0, maximum: 100 }),
  changeWindowStart: Timestamp,
  changeWindowEnd: Timestamp,
  owners: Type.Array(Type.String()),
  /** Required gates that currently fail. */
  blockingGates: Type.Array(Type.String()),
  gates: Type.Array(ReleaseGate),
  warnings: Type.Array(ReleaseWarning),
  workflowId: Type.String(),
  createdBy: Type.String(),
  failureReason: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  closedAt: Type.Union([Timestamp, Type.Null()]),
});
export type ReleaseView = Static<typeof Release>;

export const ReleaseResponse = Type.Object({ release: Release });
export const CreateReleaseResponse = Type.Object({ release: Release, run: Run });
export const ReleaseList = ListOf(Release);
export const ListReleasesQuery = Type.Object(
  { status: Type.Optional(ReleaseStatus), environment: Type.Optional(Type.String({ maxLength: 40 })), ...ListQueryProperties },
  { additionalProperties: false },
);

export const DashboardRelease = Type.Pick(Release, [
  'publicId', 'version', 'environment', 'status', 'readinessScore', 'changeWindowStart', 'changeWindowEnd', 'blockingGates', 'warnings',
]);
export const DashboardResponse = Type.Object({
  /** Open runs whose change window has not started, soonest first (at most 20). */
  upcoming: Type.Array(DashboardRelease),
  countsByStatus: Type.Record(Type.String(), Type.Integer()),
  /** Mean readiness of the open runs; null when none is open. */
  meanReadinessScore: Type.Union([Type.Number(), Type.Null()]),
});

/** Input of the releaseEvaluation workflow: the run and the checklist snapshot it is held to. */
export const ReleaseEvaluationInput = Type.Object({
  publicId: Uuid,
  version: Type.String(),
  environment: Type.String(),
  changeWindowStart: Timestamp,
  changeWindowEnd: Timestamp,
  metrics: Type.Optional(ReleaseMetrics),
  checklist: Type.Array(ChecklistGate),
});
export type ReleaseEvaluationInput = Static<typeof ReleaseEvaluationInput>;

/** Argument of the `evaluateGate` update. */
export const GateEvaluationRequest = Type.Composite([
  Type.Omit(GateEvaluationBody, ['reason']),
  Type.Object({ gateKey: Type.String(), actor: Type.String() }),
]);
export type GateEvaluationRequest = Static<typeof GateEvaluationRequest>;

/** Argument of the `reevaluate` update: fresh metrics re-evaluate the auto gates. */
export const ReevaluateRequest = Type.Composite([EvaluateBody, Type.Object({ actor: Type.String() })]);
export type ReevaluateRequest = Static<typeof ReevaluateRequest>;

/** What every update answers: the run's readiness after it. */
export const ReleaseReadiness = Type.Object({
  status: ReleaseStatus,
  readinessScore: Type.Integer({ minimum: 0, maximum: 100 }),
  blockingGates: Type.Array(Type.String()),
  gates: Type.Array(Type.Object({ key: Type.String(), required: Type.Boolean(), status: GateStatus })),
});
export type ReleaseReadiness = Static<typeof ReleaseReadiness>;

/** An evaluation the workflow accepted, as the activity records it. */
export const RecordedEvaluation = Type.Composite([
  Type.Omit(GateEvaluation, ['id', 'createdAt']),
  Type.Object({ seq: Type.Integer(), gateKey: Type.String() }),
]);
export type RecordedEvaluation = Static<typeof RecordedEvaluation>;

export const ReleaseEvaluationResult = Type.Object({
  publicId: Uuid,
  status: literals(['approved', 'expired'] as const),
  readinessScore: Type.Integer(),
});
export type ReleaseEvaluationResult = Static<typeof ReleaseEvaluationResult>;
