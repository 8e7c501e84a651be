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
  exportedAt!: Date | null;
  exportBatchId!: string | null;
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

/** One exported object; retention may delete the object later and set deletedAt. */
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

/** How far exports have come; its row lock also orders the commits of exported batches. */
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

/** What waits for export: read by the freshness endpoint and the export-lag gauge. */
export async function exportBacklog(db: Knex): Promise<ExportBacklog> {
  const { rows } = (await db.raw(
    `SELECT (SELECT count(*) FROM telemetry_events WHERE status = 'accepted' AND exported_at IS NULL)::int AS pending,
            coalesce(extract(epoch FROM now() - (
              SELECT received_at FROM telemetry_events WHERE status = 'accepted' AND exported_at IS NULL ORDER BY id LIMIT 1
            )), 0)::int AS lag_seconds`,
  )) as { rows: Array<{ pending: number; lag_seconds: number }> };
  return { pending: rows[0].pending, lagSeconds: Math.max(0, rows[0].lag_seconds) };
}
