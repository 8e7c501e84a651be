import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Asset, AssetIngestionEvent, AssetRendition } from '../../db/models/Asset';
import { conflict, forbidden, notFound, tooLarge, unsupportedMedia } from '../../lib/errors';
import { decodeCursor, page } from '../../lib/pagination';
import { assetConversionRun, queryAssetConversionProgress, startAssetConversion } from '../../lib/clients/assets';
import {
  ALLOWED_UPLOADS,
  AssetList,
  AssetResponse,
  type AssetStatus,
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
import { IdParams, Roles, type Run } from '../../schemas/common';
import { ASSET_CONVERSION_WORKFLOW, type AssetConversionInput, type Progress } from '../../workflows/assetConversion.contract';
import type { Db } from '../../lib/db';
import type { AppDeps } from '../deps';
import { hasRole, type Principal } from '../middleware/auth';
import { defineRoute } from '../route';

const MANAGERS = ['instructor', 'admin'] as const;
const ANY_ROLE = Roles;
const ORIGINAL = 'original';

/** Instructors manage their own assets; admins manage all. */
async function findManagedAsset(db: Db, id: string, principal: Principal): Promise<Asset> {
  const asset = await Asset.query(db).findById(id);
  if (!asset || (!hasRole(principal, 'admin') && asset.ownerId !== principal.sub)) throw notFound('asset');
  return asset;
}

/** Learners see only ready assets; every other role sees any. */
async function findVisibleAsset(db: Db, id: string, principal: Principal): Promise<Asset> {
  const asset = await Asset.query(db).findById(id).withGraphFetched('renditions');
  const learnerOnly = principal.roles.every((r) => r === 'learner');
  if (!asset || (learnerOnly && asset.status !== 'ready')) throw notFound('asset');
  return asset;
}

function uploadRule(filename: string, contentType: string, sizeBytes: number, maxMb: number) {
  if (sizeBytes > maxMb * 1024 * 1024) throw tooLarge('UPLOAD_TOO_LARGE', `uploads are limited to ${maxMb} MB`);
  const ext = path.extname(filename).slice(1).toLowerCase();
  const rule = ALLOWED_UPLOADS[ext as keyof typeof ALLOWED_UPLOADS];
  if (!rule) {
    throw unsupportedMedia('FILE_TYPE_NOT_ALLOWED', `allowed types: ${Object.keys(ALLOWED_UPLOADS).join(', ')}`);
  }
  const declared = contentType.split(';')[0].trim().toLowerCase();
  if (!(rule.contentTypes as readonly string[]).includes(declared)) {
    throw unsupportedMedia('CONTENT_TYPE_MISMATCH', `a .${ext} file must be sent as ${rule.contentTypes.join(' or ')}`);
  }
  return { ext, kind: rule.kind, contentType: declared };
}

async function reload(db: Db, id: string): Promise<Asset> {
  const asset = (await Asset.query(db).findById(id)) as Asset;
  asset.renditions = await AssetRendition.query(db).where('assetId', asset.id);
  return asset;
}

const currentRun = (deps: AppDeps, assetId: string) => assetConversionRun(deps.temporal, deps.config, assetId);

const SETTLED: Partial<Record<AssetStatus, Progress>> = {
  ready: { stage: 'ready', percent: 100, detail: null },
  quarantined: { stage: 'quarantined', percent: 100, detail: null },
  failed: { stage: 'failed', percent: 100, detail: null },
};

/** Settled assets answer from the record; only a running conversion is asked (briefly) where it is. */
async function currentProgress(deps: AppDeps, asset: Asset, run: Run | null): Promise<Progress | null> {
  const settled = SETTLED[asset.status];
  if (settled) return { ...settled, detail: asset.failureReason ?? settled.detail };
  if (!run || run.status !== 'Running') return null;
  return queryAssetConversionProgress(deps.temporal, run);
}

function startConversion(deps: AppDeps, asset: Asset, input: AssetConversionInput, rerun: boolean) {
  deps.metrics.workflowStarts.inc({ type: ASSET_CONVERSION_WORKFLOW });
  return startAssetConversion(deps.temporal, deps.config, input, {
    summary: `Convert ${asset.kind} "${asset.filename}"${rerun ? ' (released from quarantine)' : ''}`,
    rerun,
  });
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
    handler: async ({ body, principal, deps }) => {
      const { config, storage } = deps;
      const rule = uploadRule(body.filename, body.contentType, body.sizeBytes, config.CONTENT_MAX_UPLOAD_MB);
      const id = randomUUID();
      const uploadKey = `incoming/${id}/original.${rule.ext}`;
      const upload = await storage.presignPut(config.S3_BUCKET_UPLOADS, uploadKey, {
        contentType: rule.contentType,
        ttlSeconds: config.ASSET_PRESIGN_TTL_MINUTES * 60,
      });
      const asset = await Asset.query(deps.db).insertAndFetch({
        id,
        ownerId: principal.sub,
        status: 'awaiting_upload',
        kind: rule.kind,
        filename: body.filename,
        contentType: rule.contentType,
        sizeBytes: body.sizeBytes,
        checksumSha256: body.checksumSha256 ?? null,
        uploadKey,
        metadata: {},
      });
      asset.renditions = [];
      return { status: 201, body: { asset: asset.toView(), upload } };
    },
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
    handler: async ({ params, principal, deps }) => {
      const asset = await findManagedAsset(deps.db, params.id, principal);
      if (asset.status === 'deleted') throw conflict('ASSET_DELETED', 'the asset was deleted');
      if (asset.status === 'awaiting_upload' && !(await deps.storage.head(deps.config.S3_BUCKET_UPLOADS, asset.uploadKey))) {
        throw conflict('UPLOAD_MISSING', 'upload the file to the presigned URL before ingesting');
      }
      const run = await startConversion(deps, asset, { assetId: asset.id, reason: 'upload' }, false);
      await Asset.query(deps.db).findById(asset.id).where('status', 'awaiting_upload').patch({ status: 'processing', updatedAt: new Date() });
      const fresh = await reload(deps.db, asset.id);
      return { status: 202, body: { asset: fresh.toView(), run } };
    },
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
    handler: async ({ query, principal, deps }) => {
      const limit = query.limit ?? 50;
      const after = decodeCursor(query.cursor, ['createdAt', 'id']);
      const q = Asset.query(deps.db).withGraphFetched('renditions').orderBy([{ column: 'createdAt', order: 'desc' }, { column: 'id', order: 'desc' }]);
      if (query.status) q.where('status', query.status);
      else q.whereNot('status', 'deleted');
      if (!hasRole(principal, 'admin')) q.where('ownerId', principal.sub);
      if (after) q.whereRaw('(created_at, id) < (?, ?)', [after.createdAt, after.id]);
      const rows = await q.limit(limit + 1);
      const { items, nextCursor } = page(rows, limit, (a) => ({ createdAt: a.createdAt.toISOString(), id: a.id }));
      return { status: 200, body: { items: items.map((a) => a.toView()), nextCursor } };
    },
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
    handler: async ({ params, principal, deps }) => {
      const asset = await findVisibleAsset(deps.db, params.id, principal);
      const run = asset.status === 'awaiting_upload' ? null : await currentRun(deps, asset.id);
      const progress = await currentProgress(deps, asset, run);
      return { status: 200, body: { asset: asset.toView(), progress, run } };
    },
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
    handler: async ({ params, query, principal, deps }) => {
      if (hasRole(principal, 'instructor') && !hasRole(principal, 'admin', 'operator', 'support')) {
        await findManagedAsset(deps.db, params.id, principal);
      } else if (!(await Asset.query(deps.db).findById(params.id))) {
        throw notFound('asset');
      }
      const limit = query.limit ?? 50;
      const after = decodeCursor(query.cursor, ['id']);
      const q = AssetIngestionEvent.query(deps.db).where('assetId', params.id).orderBy('id', 'asc');
      if (after) q.where('id', '>', after.id);
      const { items, nextCursor } = page(await q.limit(limit + 1), limit, (e) => ({ id: String(e.id) }));
      return { status: 200, body: { items: items.map((e) => e.toView()), nextCursor } };
    },
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
      404: { description: 'unknown asset or rendition' },
      409: { description: 'ASSET_NOT_READY' },
    },
    handler: async ({ params, query, principal, deps }) => {
      const { config, storage } = deps;
      const asset = await findVisibleAsset(deps.db, params.id, principal);
      if (asset.status !== 'ready') throw conflict('ASSET_NOT_READY', `the asset is ${asset.status}, not ready`);
      const name = query.rendition ?? ORIGINAL;
      const rendition = asset.renditions?.find((r) => r.name === name);
      if (name !== ORIGINAL && !rendition) throw notFound('rendition');
      if (principal.roles.every((r) => r === 'learner')) await takeDownloadGrant(deps, asset.id, principal.sub);
      const bucket = rendition ? rendition.bucket : config.S3_BUCKET_UPLOADS;
      const key = rendition ? rendition.key : asset.uploadKey;
      const filename = rendition ? `${path.parse(asset.filename).name}-${rendition.name}${path.extname(rendition.key)}` : asset.filename;
      const signed = await storage.presignGet(bucket, key, { ttlSeconds: config.ASSET_DOWNLOAD_TTL_SECONDS, filename });
      return { status: 200, body: signed };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/assets/:id/quarantine-review',
    summary: 'Release a false positive (re-ingested) or delete a quarantined object',
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
    handler: async ({ params, body, principal, deps }) => {
      const { config, storage } = deps;
      let run: Run | null = null;
      await deps.db.transaction(async (trx) => {
        const asset = await Asset.query(trx).findById(params.id).forUpdate();
        if (!asset) throw notFound('asset');
        if (asset.status !== 'quarantined') throw conflict('NOT_QUARANTINED', `the asset is ${asset.status}, not quarantined`);
        await AssetIngestionEvent.query(trx).insert({
          assetId: asset.id,
          eventKey: `review:${randomUUID()}`,
          step: `review-${body.decision}`,
          status: 'ok',
          detail: { notes: body.notes },
          actor: principal.sub,
        });
        if (body.decision === 'release') {
          run = await startConversion(deps, asset, { assetId: asset.id, reason: 'quarantine-release' }, true);
          await Asset.query(trx).findById(asset.id).patch({ status: 'processing', updatedAt: new Date() });
        } else {
          await storage.remove(config.S3_BUCKET_QUARANTINE, asset.uploadKey);
          await Asset.query(trx).findById(asset.id).patch({ status: 'deleted', deletedAt: new Date(), updatedAt: new Date() });
        }
      });
      const fresh = await reload(deps.db, params.id);
      return run
        ? { status: 202, body: { asset: fresh.toView(), run } }
        : { status: 200, body: { asset: fresh.toView(), progress: null, run: await currentRun(deps, fresh.id) } };
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
    handler: async ({ query, deps }) => {
      const ids = await deps.search.search(query.q, query.limit ?? 50);
      const found = ids.length ? await Asset.query(deps.db).findByIds(ids).where('status', 'ready').withGraphFetched('renditions') : [];
      const byId = new Map(found.map((a) => [a.id, a]));
      const items = ids.flatMap((id) => byId.get(id)?.toView() ?? []);
      return { status: 200, body: { items, nextCursor: null } };
    },
  }),
];

/** Counts a learner's download atomically: the limit holds under concurrent requests. */
async function takeDownloadGrant(deps: AppDeps, assetId: string, userId: string): Promise<void> {
  const limit = deps.config.DRM_DOWNLOAD_LIMIT;
  const { rows } = (await deps.db.raw(
    `insert into asset_download_grants (asset_id, user_id, count, updated_at) values (?, ?, 1, now())
     on conflict (asset_id, user_id) do update set count = asset_download_grants.count + 1, updated_at = now()
     where asset_download_grants.count < ?
     returning count`,
    [assetId, userId, limit],
  )) as { rows: Array<{ count: number }> };
  if (rows.length === 0) {
    throw forbidden('DOWNLOAD_LIMIT_REACHED', `learners may download an asset at most ${limit} times`);
  }
}
