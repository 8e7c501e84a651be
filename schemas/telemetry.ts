import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { ListOf, ListQueryProperties, Run, Timestamp } from './common';

/** Most events one ingestion request may carry; more → 413. */
export const MAX_EVENTS_PER_REQUEST = 1000;

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Scope = Type.String({ pattern: '^[A-Za-z0-9._:-]{1,64}$', description: 'consent scope' });
const UserId = Type.String({ minLength: 1, maxLength: 128 });

export const TelemetryEventInput = Type.Object(
  {
    eventId: Type.String({ minLength: 1, maxLength: 128, description: 'unique per event: a repeat is counted as a duplicate' }),
    source: Type.String({ minLength: 1, maxLength: 64, description: 'one of TELEMETRY_ALLOWED_SOURCES' }),
    name: Type.String({ minLength: 1, maxLength: 128 }),
    occurredAt: Timestamp,
    userId: Type.Optional(UserId),
    scope: Type.Optional(Scope),
    properties: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);
export type TelemetryEventInput = Static<typeof TelemetryEventInput>;

export const IngestEventsBody = Type.Object(
  {
    events: Type.Array(TelemetryEventInput, {
      minItems: 1,
      description: `1–${MAX_EVENTS_PER_REQUEST} events; more answers 413`,
    }),
  },
  { additionalProperties: false },
);
export type IngestEventsBody = Static<typeof IngestEventsBody>;

export const RejectedEvent = Type.Object({ index: Type.Integer({ minimum: 0 }), code: Type.String() });
export type RejectedEvent = Static<typeof RejectedEvent>;

export const IngestEventsResponse = Type.Object({
  accepted: Type.Integer({ minimum: 0 }),
  duplicates: Type.Integer({ minimum: 0 }),
  suppressed: Type.Integer({ minimum: 0 }),
  rejected: Type.Array(RejectedEvent),
});
export type IngestEventsResponse = Static<typeof IngestEventsResponse>;

export const ConsentStatus = Type.Union([Type.Literal('granted'), Type.Literal('revoked')]);

export const RecordConsentBody = Type.Object(
  {
    userId: UserId,
    scope: Scope,
    status: ConsentStatus,
    version: Type.String({ minLength: 1, maxLength: 64, description: 'version of the consent text the user answered' }),
  },
  { additionalProperties: false },
);
export type RecordConsentBody = Static<typeof RecordConsentBody>;

export const Consent = Type.Object({
  id: Type.String(),
  userId: Type.String(),
  scope: Type.String(),
  status: ConsentStatus,
  version: Type.String(),
  recordedBy: Type.String(),
  recordedAt: Timestamp,
});
export type ConsentView = Static<typeof Consent>;

export const RecordConsentResponse = Type.Object({
  consent: Consent,
  suppressedEvents: Type.Integer({ minimum: 0, description: 'pending events a revocation suppressed' }),
});

export const TelemetryExport = Type.Object({
  batchId: Type.String(),
  bucket: Type.String(),
  key: Type.String(),
  count: Type.Integer(),
  bytes: Type.Integer(),
  firstEventAt: Nullable(Timestamp),
  lastEventAt: Nullable(Timestamp),
  createdAt: Timestamp,
});
export type TelemetryExportView = Static<typeof TelemetryExport>;

export const ListExportsQuery = Type.Object({ ...ListQueryProperties }, { additionalProperties: false });
export const TelemetryExportList = ListOf(TelemetryExport);
export const StartExportResponse = Type.Object({ run: Run });

export const Freshness = Type.Object({
  ingestion: Type.Object({
    lastEventAt: Nullable(Timestamp),
    lagSeconds: Nullable(Type.Integer()),
    stale: Type.Boolean(),
  }),
  export: Type.Object({
    checkpointAt: Nullable(Timestamp),
    lastExportAt: Nullable(Timestamp),
    lagSeconds: Type.Integer({ description: 'age of the oldest event waiting for export; 0 when none waits' }),
    pending: Type.Integer(),
    stale: Type.Boolean(),
  }),
});
export type Freshness = Static<typeof Freshness>;

/** Input of the telemetryExport workflow: the settings of the run, fixed when it starts. */
export const TelemetryExportInput = Type.Object({
  batchSize: Type.Integer({ minimum: 1 }),
  maxBatchesPerRun: Type.Integer({ minimum: 1 }),
  /** Totals carried over continue-as-new. */
  carried: Type.Optional(Type.Object({ batches: Type.Integer(), events: Type.Integer(), runs: Type.Integer() })),
});
export type TelemetryExportInput = Static<typeof TelemetryExportInput>;

export const TelemetryExportResult = Type.Object({
  batches: Type.Integer(),
  events: Type.Integer(),
  runs: Type.Integer({ description: 'runs of this chain, continue-as-new included' }),
});
export type TelemetryExportResult = Static<typeof TelemetryExportResult>;

/** What one committed batch reports back to the workflow. */
export const ExportedBatch = Type.Object({
  batchId: Type.String(),
  key: Type.String(),
  count: Type.Integer(),
  bytes: Type.Integer(),
  morePending: Type.Boolean(),
});
export type ExportedBatch = Static<typeof ExportedBatch>;

/** What one call exporting several batches reports back to the workflow. */
export const ExportedBatches = Type.Object({
  batches: Type.Integer(),
  events: Type.Integer(),
  bytes: Type.Integer(),
  morePending: Type.Boolean(),
});
export type ExportedBatches = Static<typeof ExportedBatches>;
