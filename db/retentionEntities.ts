// The retention allow-list: every entity a policy may name, mapped to the table it
// lives in, the timestamp its age is read from, the actions it supports, the
// columns criteria may filter on and, for storage-backed entities, where its objects
// live. Identifiers in retention SQL come only from here; user text is only ever a
// bound value. The names themselves are the API's (schemas/retention.ts): this module
// depends on the schemas, never the other way round.
import type { RetentionAction, RetentionEntity } from '../schemas/retention';

export type { RetentionAction, RetentionEntity } from '../schemas/retention';

/** Where the objects of a storage-backed entity live: a configured bucket, or a column of the row. */
export type ObjectBucket = { config: 'uploads' | 'quarantine' } | { column: string };

/** A value an action writes: SQL NULL, the transaction's time, an empty JSON object, or a literal. */
export type ColumnValue = null | { now: true } | { emptyJson: true } | string;

/** What an action does to an expired row: delete it (no `set`) or update it; `scope` narrows the rows that still need it. */
export interface ActionSpec {
  set?: Record<string, ColumnValue>;
  scope?: Record<string, string | null>;
}

export interface EntityDefinition {
  description: string;
  table: string;
  /** Primary key and its SQL type (for the keyset cursor). */
  key: string;
  keyType: 'bigint' | 'text' | 'uuid';
  /** The column the age is read from: the platform's own record of when the thing happened. */
  timestampColumn: string;
  /** Rows this entity covers at all, as `column = value` or, for null, `column IS NULL`. */
  scope: Record<string, string | null>;
  actions: Partial<Record<RetentionAction, ActionSpec>>;
  criteriaColumns: readonly string[];
  /** Storage-backed entities: the object of each row, removed before the row is changed. */
  objects?: { bucket: ObjectBucket; keyColumn: string };
  /** The youngest age a policy may name; the table refuses to lose younger rows. */
  minRetentionDays?: number;
}

/** Audit rows younger than this cannot be deleted at all (the audit_events trigger enforces it too). */
export const AUDIT_EVENTS_MIN_RETENTION_DAYS = 90;

const NOW = { now: true } as const;
const MARK_ASSET_DELETED: ActionSpec = { set: { status: 'deleted', deleted_at: NOW, updated_at: NOW } };

export const ENTITY_DEFINITIONS: Record<RetentionEntity, EntityDefinition> = {
  telemetry_events: {
    description: 'learner telemetry events, by occurred_at',
    table: 'telemetry_events',
    key: 'id',
    keyType: 'bigint',
    timestampColumn: 'occurred_at',
    scope: {},
    actions: {
      // Already anonymized rows are not counted again.
      anonymize: { set: { user_id: null, properties: { emptyJson: true }, anonymized_at: NOW }, scope: { anonymized_at: null } },
      'hard-delete': {},
    },
    criteriaColumns: ['source', 'name', 'scope', 'status'],
  },
  stripe_events: {
    description: 'stored Stripe webhook events, by received_at',
    table: 'stripe_events',
    key: 'id',
    keyType: 'text',
    timestampColumn: 'received_at',
    scope: {},
    actions: { 'hard-delete': {} },
    criteriaColumns: ['type'],
  },
  asset_ingestion_events: {
    description: 'the asset ingestion audit trail, by created_at',
    table: 'asset_ingestion_events',
    key: 'id',
    keyType: 'bigint',
    timestampColumn: 'created_at',
    scope: {},
    actions: { 'hard-delete': {} },
    criteriaColumns: ['step', 'status'],
  },
  abandoned_uploads: {
    description: 'assets still awaiting_upload, by created_at: marked deleted, their upload objects removed',
    table: 'assets',
    key: 'id',
    keyType: 'uuid',
    timestampColumn: 'created_at',
    scope: { status: 'awaiting_upload' },
    actions: { 'soft-delete': MARK_ASSET_DELETED },
    criteriaColumns: ['kind', 'owner_id'],
    objects: { bucket: { config: 'uploads' }, keyColumn: 'upload_key' },
  },
  quarantined_objects: {
    description: 'quarantined uploads, by the asset’s updated_at: the object deleted, the asset marked deleted',
    table: 'assets',
    key: 'id',
    keyType: 'uuid',
    timestampColumn: 'updated_at',
    scope: { status: 'quarantined' },
    actions: { 'hard-delete': MARK_ASSET_DELETED },
    criteriaColumns: ['kind', 'owner_id'],
    objects: { bucket: { config: 'quarantine' }, keyColumn: 'upload_key' },
  },
  telemetry_export_objects: {
    description: 'exported telemetry batches, by created_at: the object deleted, the export row keeps deleted_at',
    table: 'telemetry_exports',
    key: 'batch_id',
    keyType: 'text',
    timestampColumn: 'created_at',
    scope: { deleted_at: null },
    actions: { 'hard-delete': { set: { deleted_at: NOW } } },
    criteriaColumns: ['bucket'],
    objects: { bucket: { column: 'bucket' }, keyColumn: 'key' },
  },
  audit_events: {
    description: `the audit trail of privileged actions, by at (at least ${AUDIT_EVENTS_MIN_RETENTION_DAYS} days)`,
    table: 'audit_events',
    key: 'id',
    keyType: 'bigint',
    timestampColumn: 'at',
    scope: {},
    actions: { 'hard-delete': {} },
    criteriaColumns: ['action', 'outcome'],
    minRetentionDays: AUDIT_EVENTS_MIN_RETENTION_DAYS,
  },
  outbox_events: {
    description: 'notification events of the outbox, by created_at',
    table: 'outbox_events',
    key: 'id',
    keyType: 'uuid',
    timestampColumn: 'created_at',
    scope: {},
    actions: { 'hard-delete': {} },
    criteriaColumns: ['type'],
  },
  webhook_deliveries: {
    description: 'webhook deliveries with their attempts, by created_at',
    table: 'webhook_deliveries',
    key: 'id',
    keyType: 'uuid',
    timestampColumn: 'created_at',
    scope: {},
    actions: { 'hard-delete': {} },
    criteriaColumns: ['type', 'status', 'endpoint_id'],
  },
};

export const supportedActions = (entity: RetentionEntity) => Object.keys(ENTITY_DEFINITIONS[entity].actions) as RetentionAction[];

/** The defaults of SPEC §4.5 (and §5 for audit_events), seeded with fixed ids so seeding twice changes nothing. */
export const DEFAULT_POLICIES: ReadonlyArray<{
  id: string;
  entity: RetentionEntity;
  action: RetentionAction;
  retentionDays: number;
}> = [
  { id: '7e1e0000-0000-4000-8000-000000000001', entity: 'telemetry_events', action: 'anonymize', retentionDays: 365 },
  { id: '7e1e0000-0000-4000-8000-000000000002', entity: 'stripe_events', action: 'hard-delete', retentionDays: 90 },
  { id: '7e1e0000-0000-4000-8000-000000000003', entity: 'asset_ingestion_events', action: 'hard-delete', retentionDays: 365 },
  { id: '7e1e0000-0000-4000-8000-000000000004', entity: 'abandoned_uploads', action: 'soft-delete', retentionDays: 7 },
  { id: '7e1e0000-0000-4000-8000-000000000005', entity: 'quarantined_objects', action: 'hard-delete', retentionDays: 30 },
  { id: '7e1e0000-0000-4000-8000-000000000006', entity: 'telemetry_export_objects', action: 'hard-delete', retentionDays: 730 },
  { id: '7e1e0000-0000-4000-8000-000000000007', entity: 'audit_events', action: 'hard-delete', retentionDays: 730 },
  { id: '7e1e0000-0000-4000-8000-000000000008', entity: 'outbox_events', action: 'hard-delete', retentionDays: 30 },
  { id: '7e1e0000-0000-4000-8000-000000000009', entity: 'webhook_deliveries', action: 'hard-delete', retentionDays: 90 },
];
