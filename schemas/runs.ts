import { Type, type Static } from '@sinclair/typebox';
import { ListOf, ListQueryProperties, Run, RunStatus, Timestamp } from './common';

const WorkflowType = Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,99}$', description: 'workflow type, e.g. assetConversion' });
const BusinessKey = Type.String({ pattern: '^[A-Za-z0-9._:-]{1,200}$' });
const Reason = Type.String({ minLength: 3, maxLength: 1000 });
const ClosedFailure = Type.Union(['Failed', 'TimedOut', 'Terminated'].map((s) => Type.Literal(s)));

export const WorkflowIdParams = Type.Object(
  { workflowId: Type.String({ minLength: 1, maxLength: 400, pattern: '^[^\\s/]+$' }) },
  { additionalProperties: false },
);

export const ListRunsQuery = Type.Object(
  {
    type: Type.Optional(WorkflowType),
    status: Type.Optional(
      Type.Union(['Running', 'Completed', 'Failed', 'Canceled', 'Terminated', 'TimedOut', 'ContinuedAsNew'].map((v) => Type.Literal(v))),
    ),
    businessKey: Type.Optional(BusinessKey),
    since: Type.Optional(Type.String({ format: 'date-time' })),
    ...ListQueryProperties,
  },
  { additionalProperties: false },
);
export type ListRunsQuery = Static<typeof ListRunsQuery>;

export const RunItem = Type.Object({
  workflowId: Type.String(),
  runId: Type.String(),
  type: Type.String(),
  status: RunStatus,
  businessKey: Type.Union([Type.String(), Type.Null()]),
  startedAt: Type.Union([Timestamp, Type.Null()]),
  closedAt: Type.Union([Timestamp, Type.Null()]),
  uiUrl: Type.String({ format: 'uri' }),
});
export type RunItem = Static<typeof RunItem>;
export const RunList = ListOf(RunItem);

export const RunDetail = Type.Object({
  run: Type.Intersect([
    RunItem,
    Type.Object({
      failure: Type.Union([Type.String(), Type.Null()]),
      pendingActivities: Type.Array(
        Type.Object({
          activityType: Type.String(),
          attempt: Type.Integer(),
          lastFailure: Type.Union([Type.String(), Type.Null()]),
        }),
      ),
      historyLength: Type.Integer(),
    }),
  ]),
});

export const ReplayMode = Type.Union([Type.Literal('reset'), Type.Literal('restart')]);
export type ReplayMode = Static<typeof ReplayMode>;

export const ReplayBody = Type.Object({ mode: ReplayMode, reason: Reason }, { additionalProperties: false });
export const ReplayResponse = Type.Object({ run: Run });

export const BulkReplayBody = Type.Object(
  {
    type: WorkflowType,
    status: ClosedFailure,
    since: Type.String({ format: 'date-time' }),
    mode: ReplayMode,
    reason: Reason,
    dryRun: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type BulkReplayBody = Static<typeof BulkReplayBody>;

export const BulkReplayResponse = Type.Object({
  matched: Type.Integer(),
  replayed: Type.Array(Run),
  failed: Type.Array(Type.Object({ workflowId: Type.String(), runId: Type.String(), error: Type.String() })),
});

export const CancelBody = Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false });
export const TerminateBody = Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false });

export const ScheduleParams = Type.Object({ id: Type.String({ pattern: '^[a-z0-9-]{1,100}$' }) }, { additionalProperties: false });
/** Trigger, pause and unpause: the body is optional, its reason goes to the audit trail. */
export const ScheduleActionBody = Type.Object({ reason: Type.Optional(Reason) }, { additionalProperties: false });

export const Schedule = Type.Object({
  id: Type.String(),
  workflowType: Type.String(),
  spec: Type.Object({ cron: Type.Union([Type.String(), Type.Null()], { description: 'as listed in lib/schedules.ts' }) }),
  timezone: Type.String(),
  paused: Type.Boolean(),
  note: Type.Union([Type.String(), Type.Null()]),
  nextRunAt: Type.Array(Timestamp),
  lastRun: Type.Union([
    Type.Object({ workflowId: Type.String(), runId: Type.String(), scheduledAt: Timestamp, startedAt: Timestamp }),
    Type.Null(),
  ]),
});
export type ScheduleView = Static<typeof Schedule>;
export const ScheduleList = Type.Object({ items: Type.Array(Schedule), nextCursor: Type.Null() });
export const ScheduleResponse = Type.Object({ schedule: Schedule });
export const TriggerResponse = Type.Object({ scheduleId: Type.String(), triggeredAt: Timestamp });

/** The processes whose records the drift check compares with their closed runs. */
export const DriftType = Type.Union([
  Type.Literal('assetConversion'),
  Type.Literal('paymentCapture'),
  Type.Literal('refund'),
  Type.Literal('releaseEvaluation'),
  Type.Literal('retentionRun'),
]);
export type DriftType = Static<typeof DriftType>;

export const DriftQuery = Type.Object(
  {
    type: Type.Optional(DriftType),
    since: Type.Optional(Type.String({ format: 'date-time', description: 'only runs closed at or after this time' })),
  },
  { additionalProperties: false },
);

export const DriftItem = Type.Object({
  workflowId: Type.String(),
  runId: Type.String(),
  type: Type.String(),
  recordKind: Type.Union([
    Type.Literal('asset'),
    Type.Literal('payment'),
    Type.Literal('refund'),
    Type.Literal('release_run'),
    Type.Literal('retention_run'),
  ]),
  recordId: Type.Union([Type.String(), Type.Null()]),
  runStatus: Type.String({ description: "Temporal's status name of the closed run" }),
  runResult: Type.Unknown({ description: 'what the run returned (null unless it completed)' }),
  recordStatus: Type.Union([Type.String(), Type.Null()]),
  closedStatus: Type.Union([Type.String(), Type.Null()], { description: 'the status the record kept when its run closed' }),
  problem: Type.String(),
});
export type DriftItem = Static<typeof DriftItem>;
export const DriftList = Type.Object({ items: Type.Array(DriftItem), nextCursor: Type.Null() });
