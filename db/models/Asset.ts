import { BaseModel } from './BaseModel';
import type { AssetKind, AssetMetadata, AssetStatus, AssetView, IngestionEvent, ScanResult } from '../../schemas/assets';

export class AssetRendition extends BaseModel {
  static tableName = 'asset_renditions';
  id!: string;
  assetId!: string;
  name!: string;
  bucket!: string;
  key!: string;
  contentType!: string;
  sizeBytes!: number;
  createdAt!: Date;
}

export class AssetIngestionEvent extends BaseModel {
  static tableName = 'asset_ingestion_events';
  id!: string;
  assetId!: string;
  eventKey!: string;
  step!: string;
  status!: string;
  detail!: Record<string, unknown>;
  workflowId!: string | null;
  runId!: string | null;
  actor!: string | null;
  createdAt!: Date;

  toView(): IngestionEvent {
    return {
      id: String(this.id),
      step: this.step,
      status: this.status,
      detail: this.detail,
      workflowId: this.workflowId,
      runId: this.runId,
      actor: this.actor,
      createdAt: this.createdAt.toISOString(),
    };
  }
}

export class Asset extends BaseModel {
  static tableName = 'assets';
  static jsonAttributes = ['metadata', 'scan'];

  id!: string;
  ownerId!: string;
  status!: AssetStatus;
  kind!: AssetKind;
  filename!: string;
  contentType!: string;
  sizeBytes!: number;
  checksumSha256!: string | null;
  uploadKey!: string;
  title!: string | null;
  metadata!: AssetMetadata;
  scan!: ScanResult | null;
  failureReason!: string | null;
  /** The status its last conversion run closed with (null while a run is open). */
  closedStatus!: string | null;
  searchText!: string | null;
  createdAt!: Date;
  updatedAt!: Date;
  deletedAt!: Date | null;
  renditions?: AssetRendition[];

  static relationMappings = () => ({
    renditions: {
      relation: BaseModel.HasManyRelation,
      modelClass: AssetRendition,
      join: { from: 'assets.id', to: 'asset_renditions.assetId' },
    },
  });

  toView(): AssetView {
    return {
      id: this.id,
      status: this.status,
      kind: this.kind,
      filename: this.filename,
      contentType: this.contentType,
      sizeBytes: Number(this.sizeBytes),
      metadata: this.failureReason ? { ...this.metadata, failureReason: this.failureReason } : this.metadata,
      renditions: (this.renditions ?? [])
        .slice()
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((r) => ({ name: r.name, contentType: r.contentType, sizeBytes: Number(r.sizeBytes) })),
      scan: this.scan,
      createdAt: this.createdAt.toISOString(),
      updatedAt: this.updatedAt.toISOString(),
    };
  }
}
