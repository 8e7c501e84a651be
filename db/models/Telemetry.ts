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
  /** The activity call of `runId` that committed it. */
  activityId!: string | null;
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
