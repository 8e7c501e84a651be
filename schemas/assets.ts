import { Type, type Static } from '@sinclair/typebox';
import { AuditReason } from './audit';
import { ListOf, ListQueryProperties, Progress, Run, Timestamp, Uuid } from './common';

/** Upload allow-list: file extension → accepted content types and the kind it converts as. */
export const ALLOWED_UPLOADS = {
  pdf: { kind: 'pdf', contentTypes: ['application/pdf'] },
  pptx: { kind: 'pptx', contentTypes: ['application/vnd.openxmlformats-officedocument.presentationml.presentation'] },
  docx: { kind: 'docx', contentTypes: ['application/vnd.openxmlformats-officedocument.wordprocessingml.document'] },
  epub: { kind: 'epub', contentTypes: ['application/epub+zip'] },
  png: { kind: 'png', contentTypes: ['image/png'] },
  jpg: { kind: 'jpeg', contentTypes: ['image/jpeg'] },
  jpeg: { kind: 'jpeg', contentTypes: ['image/jpeg'] },
  csv: { kind: 'csv', contentTypes: ['text/csv', 'application/csv'] },
} as const;

export const AssetKind = Type.Union(['pdf', 'pptx', 'docx', 'epub', 'png', 'jpeg', 'csv'].map((k) => Type.Literal(k)));
export type AssetKind = 'pdf' | 'pptx' | 'docx' | 'epub' | 'png' | 'jpeg' | 'csv';

export const AssetStatus = Type.Union(
  ['awaiting_upload', 'processing', 'ready', 'quarantined', 'failed', 'deleted'].map((s) => Type.Literal(s)),
);
export type AssetStatus = 'awaiting_upload' | 'processing' | 'ready' | 'quarantined' | 'failed' | 'deleted';

export const CreateUploadSessionBody = Type.Object(
  {
    filename: Type.String({ minLength: 1, maxLength: 255, pattern: '^[^/\\\\\\u0000-\\u001f]+$' }),
    contentType: Type.String({ minLength: 3, maxLength: 255 }),
    sizeBytes: Type.Integer({ minimum: 1 }),
    checksumSha256: Type.Optional(Type.String({ pattern: '^[a-f0-9]{64}$', description: 'hex SHA-256 of the file' })),
  },
  { additionalProperties: false },
);
export type CreateUploadSessionBody = Static<typeof CreateUploadSessionBody>;

export const AssetMetadata = Type.Object(
  {
    pageCount: Type.Optional(Type.Integer()),
    rowCount: Type.Optional(Type.Integer()),
    columns: Type.Optional(Type.Array(Type.String())),
    title: Type.Optional(Type.String()),
    authors: Type.Optional(Type.Array(Type.String())),
    chapterCount: Type.Optional(Type.Integer()),
    spine: Type.Optional(Type.Array(Type.String())),
    width: Type.Optional(Type.Integer()),
    height: Type.Optional(Type.Integer()),
    failureReason: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type AssetMetadata = Static<typeof AssetMetadata>;

export const Rendition = Type.Object({
  name: Type.String(),
  contentType: Type.String(),
  sizeBytes: Type.Integer(),
});
export type Rendition = Static<typeof Rendition>;

export const ScanResult = Type.Object({
  clean: Type.Boolean(),
  signature: Type.Union([Type.String(), Type.Null()]),
  engine: Type.String(),
  scannedAt: Timestamp,
});
export type ScanResult = Static<typeof ScanResult>;

export const Asset = Type.Object({
  id: Uuid,
  status: AssetStatus,
  kind: AssetKind,
  filename: Type.String(),
  contentType: Type.String(),
  sizeBytes: Type.Integer(),
  metadata: AssetMetadata,
  renditions: Type.Array(Rendition),
  scan: Type.Union([ScanResult, Type.Null()]),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type AssetView = Static<typeof Asset>;

export const UploadInstructions = Type.Object({
  url: Type.String({ format: 'uri' }),
  method: Type.Literal('PUT'),
  headers: Type.Record(Type.String(), Type.String()),
  expiresAt: Timestamp,
});

export const UploadSessionResponse = Type.Object({ asset: Asset, upload: UploadInstructions });
export const IngestResponse = Type.Object({ asset: Asset, run: Run });
export const AssetResponse = Type.Object({
  asset: Asset,
  progress: Type.Union([Progress, Type.Null()]),
  run: Type.Union([Run, Type.Null()]),
});

export const ListAssetsQuery = Type.Object(
  { status: Type.Optional(AssetStatus), ...ListQueryProperties },
  { additionalProperties: false },
);
export const AssetList = ListOf(Asset);

export const IngestionEvent = Type.Object({
  id: Type.String(),
  step: Type.String(),
  status: Type.String(),
  detail: Type.Record(Type.String(), Type.Unknown()),
  workflowId: Type.Union([Type.String(), Type.Null()]),
  runId: Type.Union([Type.String(), Type.Null()]),
  actor: Type.Union([Type.String(), Type.Null()]),
  createdAt: Timestamp,
});
export type IngestionEvent = Static<typeof IngestionEvent>;
export const IngestionEventList = ListOf(IngestionEvent);
export const ListEventsQuery = Type.Object({ ...ListQueryProperties }, { additionalProperties: false });

export const DownloadUrlQuery = Type.Object(
  { rendition: Type.Optional(Type.String({ pattern: '^[a-z0-9-]{1,40}$' })) },
  { additionalProperties: false },
);
export const DownloadUrlResponse = Type.Object({ url: Type.String({ format: 'uri' }), expiresAt: Timestamp });

export const QuarantineReviewBody = Type.Object(
  {
    decision: Type.Union([Type.Literal('release'), Type.Literal('delete')]),
    notes: Type.String({ minLength: 1, maxLength: 2000 }),
    reason: Type.Optional(AuditReason),
  },
  { additionalProperties: false },
);

export const SearchQuery = Type.Object(
  { q: Type.String({ minLength: 1, maxLength: 200 }), limit: ListQueryProperties.limit },
  { additionalProperties: false },
);
export const SearchResponse = Type.Object({ items: Type.Array(Asset), nextCursor: Type.Null() });

/** Input of the assetConversion workflow. */
export const AssetConversionInput = Type.Object({
  assetId: Uuid,
  reason: Type.Union([Type.Literal('upload'), Type.Literal('quarantine-release')]),
});
export type AssetConversionInput = Static<typeof AssetConversionInput>;

export const AssetConversionResult = Type.Object({
  assetId: Uuid,
  status: Type.Union([Type.Literal('ready'), Type.Literal('quarantined'), Type.Literal('failed')]),
  reason: Type.Optional(Type.String()),
});
export type AssetConversionResult = Static<typeof AssetConversionResult>;

/** Input of the assetDeletion workflow. */
export const AssetDeletionInput = Type.Object({ assetId: Uuid });
export type AssetDeletionInput = Static<typeof AssetDeletionInput>;

export const AssetDeletionResult = Type.Object({ assetId: Uuid, status: Type.Literal('deleted'), objectsRemoved: Type.Integer() });
export type AssetDeletionResult = Static<typeof AssetDeletionResult>;
