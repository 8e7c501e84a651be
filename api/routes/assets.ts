import {
  assetDetail,
  deleteAsset,
  downloadUrl,
  ingestUpload,
  listAssets,
  listIngestionEvents,
  registerUpload,
  reviewQuarantine,
  searchReadyAssets,
  type Catalog,
  type ConversionRuns,
  type StartDeletion,
} from '../../services/assets';
import { assetConversionRun, queryAssetConversionProgress, startAssetConversion, startAssetDeletion } from '../../lib/clients/assets';
import {
  AssetList,
  AssetResponse,
  CreateUploadSessionBody,
  DownloadUrlQuery,
  DownloadUrlResponse,
  IngestionEventList,
  IngestResponse,
  ListAssetsQuery,
  ListEventsQuery,
  QuarantineReviewBody,
  SearchQuery,
  SearchResponse,
  UploadSessionResponse,
} from '../../schemas/assets';
import { IdParams, Roles } from '../../schemas/common';
import { ASSET_CONVERSION_WORKFLOW } from '../../workflows/assetConversion.contract';
import { ASSET_DELETION_WORKFLOW } from '../../workflows/assetDeletion.contract';
import type { AppDeps } from '../deps';
import { defineRoute } from '../route';
import { startSummary } from '../../lib/dataConverter';

const MANAGERS = ['instructor', 'admin'] as const;
const ANY_ROLE = Roles;

function catalogOf({ db, storage, config }: AppDeps): Catalog {
  const settings = {
    uploadsBucket: config.S3_BUCKET_UPLOADS,
    privateBucket: config.S3_BUCKET_PRIVATE,
    quarantineBucket: config.S3_BUCKET_QUARANTINE,
    maxUploadMb: config.CONTENT_MAX_UPLOAD_MB,
    presignTtlSeconds: config.ASSET_PRESIGN_TTL_MINUTES * 60,
    downloadTtlSeconds: config.ASSET_DOWNLOAD_TTL_SECONDS,
    downloadLimit: config.DRM_DOWNLOAD_LIMIT,
  };
  return { db, storage, settings };
}

/** Conversion runs through the typed client; a quarantine release starts anew after the closed run. */
function conversionRuns({ temporal, config, metrics }: AppDeps): ConversionRuns {
  return {
    start(asset, input) {
      const rerun = input.reason === 'quarantine-release';
      metrics.workflowStarts.inc({ type: ASSET_CONVERSION_WORKFLOW });
      const released = rerun ? ' (released from quarantine)' : '';
      const summary = startSummary(config, `Convert ${asset.kind} "${asset.filename}"${released}`, `Convert asset ${asset.id}${released}`);
      return startAssetConversion(temporal, config, input, { summary, rerun });
    },
    latest: (assetId) => assetConversionRun(temporal, config, assetId),
    progress: (run) => queryAssetConversionProgress(temporal, run),
  };
}

function deletionRuns({ temporal, config, metrics }: AppDeps): StartDeletion {
  return (asset) => {
    metrics.workflowStarts.inc({ type: ASSET_DELETION_WORKFLOW });
    return startAssetDeletion(temporal, config, asset.id, `Delete ${asset.kind} "${asset.filename}"`);
  };
}

export const assetRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/v1/assets/upload-sessions',
    summary: 'Register an asset and get a presigned PUT for its upload',
    tag: 'assets',
    access: MANAGERS,
    rateGroup: 'assets',
    body: CreateUploadSessionBody,
    responses: {
      201: { description: 'asset awaiting upload', schema: UploadSessionResponse },
      413: { description: 'larger than CONTENT_MAX_UPLOAD_MB' },
      415: { description: 'file type not allowed' },
    },
    handler: async ({ body, principal, deps }) => ({ status: 201, body: await registerUpload(catalogOf(deps), principal.sub, body) }),
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/assets/:id/ingest',
    summary: 'Start converting an uploaded asset (idempotent: one run per asset)',
    tag: 'assets',
    access: MANAGERS,
    rateGroup: 'assets',
    params: IdParams,
    responses: {
      202: { description: 'the conversion run', schema: IngestResponse },
      404: { description: 'unknown asset' },
      409: { description: 'UPLOAD_MISSING: nothing was uploaded yet; ASSET_DELETED' },
    },
    handler: async ({ params, principal, deps }) => ({
      status: 202,
      body: await ingestUpload(catalogOf(deps), conversionRuns(deps), params.id, principal),
    }),
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/assets',
    summary: 'List assets (instructors see their own)',
    tag: 'assets',
    access: MANAGERS,
    rateGroup: 'assets',
    query: ListAssetsQuery,
    responses: { 200: { description: 'a page of assets', schema: AssetList } },
    handler: async ({ query, principal, deps }) => ({ status: 200, body: await listAssets(deps.db, principal, query) }),
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/assets/:id',
    summary: 'An asset with its renditions, scan, progress and run',
    tag: 'assets',
    access: ANY_ROLE,
    rateGroup: 'assets',
    params: IdParams,
    responses: { 200: { description: 'the asset', schema: AssetResponse }, 404: { description: 'unknown asset' } },
    handler: async ({ params, principal, deps }) => ({
      status: 200,
      body: await assetDetail(deps.db, conversionRuns(deps), params.id, principal),
    }),
  }),

  defineRoute({
    method: 'delete',
    path: '/api/v1/assets/:id',
    summary: 'Delete an asset: its running conversion canceled, its objects and search entry removed (idempotent: one run)',
    tag: 'assets',
    access: MANAGERS,
    rateGroup: 'assets',
    params: IdParams,
    responses: {
      202: { description: 'the deletion run', schema: IngestResponse },
      404: { description: 'unknown asset (or not the caller\'s own)' },
    },
    handler: async ({ params, principal, requestId, deps }) => ({
      status: 202,
      body: await deleteAsset(deps.db, deletionRuns(deps), params.id, principal, { actor: principal, requestId }),
    }),
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/assets/:id/events',
    summary: 'The ingestion audit trail of an asset, oldest first',
    tag: 'assets',
    access: [...MANAGERS, 'operator', 'support'],
    rateGroup: 'assets',
    params: IdParams,
    query: ListEventsQuery,
    responses: { 200: { description: 'a page of events', schema: IngestionEventList }, 404: { description: 'unknown asset' } },
    handler: async ({ params, query, principal, deps }) => ({
      status: 200,
      body: await listIngestionEvents(deps.db, params.id, principal, query),
    }),
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/assets/:id/download-url',
    summary: 'A presigned attachment download of a ready asset (learners: at most DRM_DOWNLOAD_LIMIT per asset)',
    tag: 'assets',
    access: ANY_ROLE,
    rateGroup: 'assets',
    params: IdParams,
    query: DownloadUrlQuery,
    responses: {
      200: { description: 'a presigned GET', schema: DownloadUrlResponse },
      403: { description: 'DOWNLOAD_LIMIT_REACHED' },
      404: { description: 'unknown asset or rendition; ASSET_DELETED' },
      409: { description: 'ASSET_NOT_READY' },
    },
    handler: async ({ params, query, principal, deps }) => ({
      status: 200,
      body: await downloadUrl(catalogOf(deps), params.id, principal, query.rendition),
    }),
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/assets/:id/quarantine-review',
    summary: 'Release a false positive (re-ingested) or delete a quarantined object (audited as quarantine.release or quarantine.delete)',
    tag: 'assets',
    access: ['admin'],
    rateGroup: 'assets',
    params: IdParams,
    body: QuarantineReviewBody,
    responses: {
      200: { description: 'deleted', schema: AssetResponse },
      202: { description: 'released and re-ingesting', schema: IngestResponse },
      404: { description: 'unknown asset' },
      409: { description: 'NOT_QUARANTINED' },
    },
    handler: async ({ params, body, principal, requestId, deps }) => {
      const review = { ...body, by: { actor: principal, requestId } };
      const { released, ...answer } = await reviewQuarantine(catalogOf(deps), conversionRuns(deps), params.id, review);
      return { status: released ? 202 : 200, body: answer };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/search',
    summary: 'Find ready assets by title, file name or text',
    tag: 'assets',
    access: ANY_ROLE,
    rateGroup: 'search',
    query: SearchQuery,
    responses: { 200: { description: 'matching ready assets, best first', schema: SearchResponse } },
    handler: async ({ query, deps }) => ({
      status: 200,
      body: { items: await searchReadyAssets(deps.db, deps.search, query.q, query.limit ?? 50), nextCursor: null },
    }),
  }),
];
