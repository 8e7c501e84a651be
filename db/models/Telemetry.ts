import type { Knex } from 'knex';
import { BaseModel } from './BaseModel';
import type { ConsentView, TelemetryExportView } from '../../schemas/telemetry';

export type TelemetryEventStatus = 'accepted' | 'suppressed';

export class TelemetryEvent extends BaseModel {
  static tableName = 'telemetry_events';
  static jsonAttributes = ['properties'];

  id!: string;
  eventId!: string;
  source!: string | null;
  name!: string | null;
  occurredAt!: Date;
  receivedAt!: Date;
  userId!: string | null;
  scope!: string;
  properties!: Record<string, unknown>;
  status!: TelemetryEventStatus;
  anonymizedAt!: Date | null;
}

/** An append-only ledger: a user's consent in a scope is its newest row. */
export class TelemetryConsent extends BaseModel {
  static tableName = 'telemetry_consents';

  id!: string;
  userId!: string;
  scope!: string;
  status!: 'granted' | 'revoked';
  version!: string;
  recordedBy!: string;
  recordedAt!: Date;

  toView(): ConsentView {
    return {
      id: String(this.id),
      userId: this.userId,
      scope: this.scope,
      status: this.status,
      version: this.version,
      recordedBy: this.recordedBy,
      recordedAt: this.recordedAt.toISOString(),
    };
  }
}

/**
 * One batch: the accepted events with afterEventId < id <= throughEventId, written to one
 * object. Open (committedAt null) from its claim until its object is written and it commits.
 * Retention may delete the object later and set deletedAt.
 */
export class TelemetryExport extends BaseModel {
  static tableName = 'telemetry_exports';
  static idColumn = 'batchId';

  batchId!: string;
  bucket!: string;
  key!: string;
  count!: number;
  bytes!: number;
  firstEventAt!: Date | null;
  lastEventAt!: Date | null;
  afterEventId!: string;
  throughEventId!: string;
  lastReceivedAt!: Date | null;
  committedAt!: Date | null;
  workflowId!: string | null;
  runId!: string | null;
  createdAt!: Date;
  deletedAt!: Date | null;

  toView(): TelemetryExportView {
    return {
      batchId: this.batchId,
      bucket: this.bucket,
      key: this.key,
      count: this.count,
      bytes: Number(this.bytes),
      firstEventAt: this.firstEventAt?.toISOString() ?? null,
      lastEventAt: this.lastEventAt?.toISOString() ?? null,
      createdAt: this.createdAt.toISOString(),
    };
  }
}

export const EXPORT_CHECKPOINT = 'export';

/**
 * Ingestion holds this advisory lock shared; a revocation and an export's claim hold it
 * exclusively. A revocation waits for the inserts in flight, and inserts after it see the
 * new consent; a claim waits for them too, so no id below its range's end can still appear.
 */
export const INGESTION_LOCK_KEY = 7_310_002;

/** The end of the last claimed batch: events above it are still pending, and only those may be held back. */
export async function claimedThrough(db: Knex): Promise<string> {
  const { rows } = (await db.raw(
    `SELECT greatest(
       (SELECT max(through_event_id) FROM telemetry_exports),
       (SELECT last_event_id FROM telemetry_checkpoints WHERE name = ?))::text AS through`,
    [EXPORT_CHECKPOINT],
  )) as { rows: Array<{ through: string | null }> };
  return rows[0].through ?? '0';
}

/** Everything up to lastEventId is exported; its row lock also orders the commits of exported batches. */
export class TelemetryCheckpoint extends BaseModel {
  static tableName = 'telemetry_checkpoints';
  static idColumn = 'name';

  name!: string;
  lastEventId!: string;
  checkpointAt!: Date | null;
  lastBatchId!: string | null;
  lastFailure!: string | null;
  lastFailureAt!: Date | null;
  updatedAt!: Date;
}

export interface ExportBacklog {
  /** Accepted events not exported yet. */
  pending: number;
  /** Age of the oldest of them (0 when none waits). */
  lagSeconds: number;
}

/** What waits for export (past the checkpoint): read by the freshness endpoint and the export-lag gauge. */
export async function exportBacklog(db: Knex): Promise<ExportBacklog> {
  const { rows } = (await db.raw(
    `WITH pending AS (
       SELECT id, received_at FROM telemetry_events
       WHERE status = 'accepted' AND id > (SELECT last_event_id FROM telemetry_checkpoints WHERE name = ?)
     )
     SELECT (SELECT count(*) FROM pending)::int AS pending,
            coalesce(extract(epoch FROM now() - (SELECT received_at FROM pending ORDER BY id LIMIT 1)), 0)::int AS lag_seconds`,
    [EXPORT_CHECKPOINT],
  )) as { rows: Array<{ pending: number; lag_seconds: number }> };
  return { pending: rows[0].pending, lagSeconds: Math.max(0, rows[0].lag_seconds) };
}
