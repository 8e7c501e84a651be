// Assets as people see them through the API: registering an upload, starting its
// ingestion, finding, listing and downloading assets, and reviewing a quarantine.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Asset, AssetIngestionEvent, AssetRendition } from '../../db/models/Asset';
import type { Db } from '../../lib/db';
import { AppError, conflict, forbidden, notFound, tooLarge, unsupportedMedia } from '../../lib/errors';
import { decodeCursor, page } from '../../lib/pagination';
import type { PresignedDownload, PresignedUpload, Storage } from '../../providers/storage';
import type { SearchIndex } from '../../providers/search';
import { ALLOWED_UPLOADS, type AssetConversionInput, type AssetStatus, type AssetView, type CreateUploadSessionBody } from '../../schemas/assets';
import type { Role, Run } from '../../schemas/common';
import type { Progress } from '../../workflows/progress';
import { audited, recordAuditEvent, settledAfter, type AuditContext } from '../audit';
import { sourceKey } from './keys';

/** Who asks: instructors manage their own assets, admins all, learners see only ready ones. */
export interface Viewer {
  sub: string;
  roles: readonly Role[];
}

/** The conversion runs of assets, as the caller reaches them (the API: its typed Temporal client). */
export interface ConversionRuns {
  /** Starts the asset's conversion, or answers its run. */
  start(asset: Asset, input: AssetConversionInput): Promise<Run>;
  latest(assetId: string): Promise<Run | null>;
  /** Where a running conversion is, or null when it does not answer in time. */
  progress(run: Run): Promise<Progress | null>;
}

/** Deletion runs of assets: starts one, or answers the run already holding the asset. */
export type StartDeletion = (asset: Asset) => Promise<Run>;

export interface CatalogSettings {
  uploadsBucket: string;
  privateBucket: string;
  quarantineBucket: string;
  maxUploadMb: number;
  presignTtlSeconds: number;
  downloadTtlSeconds: number;
  downloadLimit: number;
}

export interface Catalog {
  db: Db;
  storage: Storage;
  settings: CatalogSettings;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

const ORIGINAL = 'original';

const isAdmin = (viewer: Viewer) => viewer.roles.includes('admin');
const isLearnerOnly = (viewer: Viewer) => viewer.roles.every((r) => r === 'learner');
const isInstructorOnly = (viewer: Viewer) =>
  viewer.roles.includes('instructor') && !viewer.roles.some((r) => r === 'admin' || r === 'operator' || r === 'support');

/** Instructors manage their own assets; admins manage all. */
export async function findManagedAsset(db: Db, id: string, viewer: Viewer): Promise<Asset> {
  const asset = await Asset.query(db).findById(id);
  if (!asset || (!isAdmin(viewer) && asset.ownerId !== viewer.sub)) throw notFound('asset');
  return asset;
}

/** Learners see only ready assets; a deleted one only its owner and admins; every other role sees any. */
export async function findVisibleAsset(db: Db, id: string, viewer: Viewer): Promise<Asset> {
  const asset = await Asset.query(db).findById(id).withGraphFetched('renditions');
  if (!asset || (isLearnerOnly(viewer) && asset.status !== 'ready')) throw notFound('asset');
  if (asset.status === 'deleted' && !isAdmin(viewer) && asset.ownerId !== viewer.sub) throw notFound('asset');
  return asset;
}

async function assetWithRenditions(db: Db, id: string): Promise<Asset> {
  const asset = (await Asset.query(db).findById(id)) as Asset;
  asset.renditions = await AssetRendition.query(db).where('assetId', asset.id);
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

/** Records an asset awaiting its upload and presigns the PUT that uploads it. */
export async function registerUpload(
  { db, storage, settings }: Catalog,
  ownerId: string,
  request: CreateUploadSessionBody,
): Promise<{ asset: AssetView; upload: PresignedUpload }> {
  const rule = uploadRule(request.filename, request.contentType, request.sizeBytes, settings.maxUploadMb);
  const id = randomUUID();
  const uploadKey = `incoming/${id}/original.${rule.ext}`;
  const upload = await storage.presignPut(settings.uploadsBucket, uploadKey, {
    contentType: rule.contentType,
    contentLength: request.sizeBytes,
    ttlSeconds: settings.presignTtlSeconds,
  });
  const asset = await Asset.query(db).insertAndFetch({
    id,
    ownerId,
    status: 'awaiting_upload',
    kind: rule.kind,
    filename: request.filename,
    contentType: rule.contentType,
    sizeBytes: request.sizeBytes,
    checksumSha256: request.checksumSha256 ?? null,
    uploadKey,
    metadata: {},
  });
  asset.renditions = [];
  return { asset: asset.toView(), upload };
}

/** Starts converting an uploaded asset (one run per asset); the record says `processing` once the run exists. */
export async function ingestUpload({ db, storage, settings }: Catalog, runs: ConversionRuns, id: string, viewer: Viewer) {
  const asset = await findManagedAsset(db, id, viewer);
  if (asset.status === 'deleted') throw conflict('ASSET_DELETED', 'the asset was deleted');
  if (asset.status === 'awaiting_upload' && !(await storage.head(settings.uploadsBucket, asset.uploadKey))) {
    throw conflict('UPLOAD_MISSING', 'upload the file to the presigned URL before ingesting');
  }
  const run = await runs.start(asset, { assetId: asset.id, reason: 'upload' });
  await Asset.query(db).findById(asset.id).where('status', 'awaiting_upload').patch({ status: 'processing', updatedAt: new Date() });
  return { asset: (await assetWithRenditions(db, asset.id)).toView(), run };
}

const SETTLED: Partial<Record<AssetStatus, Progress>> = {
  ready: { stage: 'ready', percent: 100, detail: null },
  quarantined: { stage: 'quarantined', percent: 100, detail: null },
  failed: { stage: 'failed', percent: 100, detail: null },
};

/** Settled assets answer from the record; only a running conversion is asked (briefly) where it is. */
async function progressOf(runs: ConversionRuns, asset: Asset, run: Run | null): Promise<Progress | null> {
  const settled = SETTLED[asset.status];
  if (settled) return { ...settled, detail: asset.failureReason ?? settled.detail };
  if (!run || run.status !== 'Running') return null;
  return runs.progress(run);
}

/** An asset with its renditions and scan, where its conversion is, and its run. */
export async function assetDetail(db: Db, runs: ConversionRuns, id: string, viewer: Viewer) {
  const asset = await findVisibleAsset(db, id, viewer);
  const run = asset.status === 'awaiting_upload' ? null : await runs.latest(asset.id);
  return { asset: asset.toView(), progress: await progressOf(runs, asset, run), run };
}

export interface AssetFilter {
  status?: string;
  limit?: number;
  cursor?: string;
}

/** Newest first; instructors see their own, deleted assets only when asked for by status. */
export async function listAssets(db: Db, viewer: Viewer, filter: AssetFilter): Promise<Page<AssetView>> {
  const limit = filter.limit ?? 50;
  const after = decodeCursor(filter.cursor, ['createdAt', 'id']);
  const q = Asset.query(db).withGraphFetched('renditions').orderBy([{ column: 'createdAt', order: 'desc' }, { column: 'id', order: 'desc' }]);
  if (filter.status) q.where('status', filter.status);
  else q.whereNot('status', 'deleted');
  if (!isAdmin(viewer)) q.where('ownerId', viewer.sub);
  if (after) q.whereRaw('(created_at, id) < (?, ?)', [after.createdAt, after.id]);
  const { items, nextCursor } = page(await q.limit(limit + 1), limit, (a) => ({ createdAt: a.createdAt.toISOString(), id: a.id }));
  return { items: items.map((a) => a.toView()), nextCursor };
}

/** The ingestion audit trail of an asset, oldest first (instructors: of their own assets). */
export async function listIngestionEvents(db: Db, id: string, viewer: Viewer, filter: { limit?: number; cursor?: string }) {
  if (isInstructorOnly(viewer)) await findManagedAsset(db, id, viewer);
  else if (!(await Asset.query(db).findById(id))) throw notFound('asset');
  const limit = filter.limit ?? 50;
  const after = decodeCursor(filter.cursor, ['id']);
  const q = AssetIngestionEvent.query(db).where('assetId', id).orderBy('id', 'asc');
  if (after) q.where('id', '>', after.id);
  const { items, nextCursor } = page(await q.limit(limit + 1), limit, (e) => ({ id: String(e.id) }));
  return { items: items.map((e) => e.toView()), nextCursor };
}

/** A presigned attachment download of a ready asset's original or rendition; learners spend one of their grants. */
export async function downloadUrl({ db, storage, settings }: Catalog, id: string, viewer: Viewer, renditionName?: string): Promise<PresignedDownload> {
  const deleted = await Asset.query(db).findById(id).where('status', 'deleted').first();
  if (deleted) throw new AppError(404, 'not_found', 'ASSET_DELETED', 'the asset was deleted');
  const asset = await findVisibleAsset(db, id, viewer);
  if (asset.status !== 'ready') throw conflict('ASSET_NOT_READY', `the asset is ${asset.status}, not ready`);
  const name = renditionName ?? ORIGINAL;
  const rendition = asset.renditions?.find((r) => r.name === name);
  if (name !== ORIGINAL && !rendition) throw notFound('rendition');
  if (isLearnerOnly(viewer)) await takeDownloadGrant(db, asset.id, viewer.sub, settings.downloadLimit);
  const bucket = rendition ? rendition.bucket : settings.privateBucket;
  const key = rendition ? rendition.key : sourceKey(asset);
  const filename = rendition ? `${path.parse(asset.filename).name}-${rendition.name}${path.extname(rendition.key)}` : asset.filename;
  return storage.presignGet(bucket, key, { ttlSeconds: settings.downloadTtlSeconds, filename });
}

/** Counts a learner's download atomically: the limit holds under concurrent requests. */
async function takeDownloadGrant(db: Db, assetId: string, userId: string, limit: number): Promise<void> {
  const { rows } = (await db.raw(
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

/** Ready assets matching `q`, best first. */
export async function searchReadyAssets(db: Db, search: SearchIndex, q: string, limit: number): Promise<AssetView[]> {
  const ids = await search.search(q, limit);
  const found = ids.length ? await Asset.query(db).findByIds(ids).where('status', 'ready').withGraphFetched('renditions') : [];
  const byId = new Map(found.map((a) => [a.id, a]));
  return ids.flatMap((id) => byId.get(id)?.toView() ?? []);
}

export type ReviewDecision = 'release' | 'delete';

export interface QuarantineReview {
  decision: ReviewDecision;
  notes: string;
  reason?: string;
  by: AuditContext;
}

/**
 * An admin's verdict on a quarantined asset, recorded in the audit trail. The decision, the
 * status it leads to and a pending `quarantine.<decision>` audit row commit first; the run or
 * the object removal follow the commit and settle that row.
 */
export async function reviewQuarantine(catalog: Catalog, runs: ConversionRuns, id: string, review: QuarantineReview) {
  const { db, storage, settings } = catalog;
  const { asset, auditId } = await recordReviewDecision(db, id, review);
  if (review.decision === 'release') {
    const run = await settledAfter(db, auditId, () => startReleased(db, runs, asset));
    return { asset: (await assetWithRenditions(db, id)).toView(), run, released: true as const };
  }
  await settledAfter(db, auditId, () => storage.remove(settings.quarantineBucket, asset.uploadKey));
  const fresh = await assetWithRenditions(db, id);
  return { asset: fresh.toView(), progress: null, run: await runs.latest(fresh.id), released: false as const };
}

async function recordReviewDecision(db: Db, id: string, review: QuarantineReview): Promise<{ asset: Asset; auditId: string }> {
  return db.transaction(async (trx) => {
    const asset = await Asset.query(trx).findById(id).forUpdate();
    if (!asset) throw notFound('asset');
    if (asset.status !== 'quarantined') throw conflict('NOT_QUARANTINED', `the asset is ${asset.status}, not quarantined`);
    await AssetIngestionEvent.query(trx).insert({
      assetId: asset.id,
      eventKey: `review:${randomUUID()}`,
      step: `review-${review.decision}`,
      status: 'ok',
      detail: { notes: review.notes },
      actor: review.by.actor.sub,
    });
    const now = new Date();
    const change = review.decision === 'release' ? { status: 'processing' as const } : { status: 'deleted' as const, deletedAt: now };
    await Asset.query(trx).findById(asset.id).patch({ ...change, updatedAt: now });
    const entry = {
      ...review.by,
      action: `quarantine.${review.decision}`,
      target: `asset:${asset.id}`,
      reason: review.reason ?? review.notes,
      before: { status: asset.status },
      after: { status: change.status },
    };
    return { asset, auditId: await recordAuditEvent(trx, entry, 'pending') };
  });
}

/** A release whose run cannot be started leaves the asset quarantined, so the review can be repeated. */
async function startReleased(db: Db, runs: ConversionRuns, asset: Asset): Promise<Run> {
  try {
    return await runs.start(asset, { assetId: asset.id, reason: 'quarantine-release' });
  } catch (err) {
    await Asset.query(db).findById(asset.id).where('status', 'processing').patch({ status: 'quarantined', updatedAt: new Date() });
    throw err;
  }
}

/**
 * Deletes an asset through its deletion run (the owning instructor or an admin), in the audit
 * trail: pending before the start, settled by how the start went.
 */
export async function deleteAsset(db: Db, startDeletion: StartDeletion, id: string, viewer: Viewer, audit: AuditContext) {
  const asset = await findManagedAsset(db, id, viewer);
  const entry = { ...audit, action: 'asset.delete', target: `asset:${asset.id}`, before: { status: asset.status } };
  const run = await audited(db, entry, () => startDeletion(asset));
  return { asset: (await assetWithRenditions(db, asset.id)).toView(), run };
}
