// How the telemetry pipeline stands: exported batches, what waits for export, freshness.
import { EXPORT_CHECKPOINT, TelemetryCheckpoint, TelemetryExport } from '../../db/models/Telemetry';
import type { Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { decodeCursor, page } from '../../lib/pagination';
import type { Freshness, TelemetryExportView } from '../../schemas/telemetry';
import { DEFAULT_PAGE_SIZE, type Page, type PageQuery } from '../page';

export type FreshnessThresholds = Pick<Config, 'TELEMETRY_FRESHNESS_INGESTION_THRESHOLD_MINUTES' | 'TELEMETRY_FRESHNESS_EXPORT_THRESHOLD_MINUTES'>;

export interface ExportBacklog {
  /** Accepted events not exported yet. */
  pending: number;
  /** Age of the oldest of them (0 when none waits). */
  lagSeconds: number;
}

/** What waits for export (past the checkpoint): read by the freshness endpoint and the export-lag gauge. */
export async function exportBacklog(db: Db): Promise<ExportBacklog> {
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

/** Committed batches not deleted by retention, newest first. */
export async function listExports(db: Db, query: PageQuery): Promise<Page<TelemetryExportView>> {
  const limit = query.limit ?? DEFAULT_PAGE_SIZE;
  const after = decodeCursor(query.cursor, ['createdAt', 'batchId']);
  const q = TelemetryExport.query(db)
    .whereNotNull('committedAt')
    .whereNull('deletedAt')
    .orderBy([{ column: 'createdAt', order: 'desc' }, { column: 'batchId', order: 'desc' }]);
  if (after) q.whereRaw('(created_at, batch_id) < (?, ?)', [after.createdAt, after.batchId]);
  const { items, nextCursor } = page(await q.limit(limit + 1), limit, (e) => ({
    createdAt: e.createdAt.toISOString(),
    batchId: e.batchId,
  }));
  return { items: items.map((e) => e.toView()), nextCursor };
}

export async function freshness(db: Db, thresholds: FreshnessThresholds): Promise<Freshness> {
  const minutes = (n: number) => n * 60;
  // The newest id was received last (ids are handed out on arrival): an index lookup, not a scan.
  const newest = (await db('telemetry_events').orderBy('id', 'desc').first('receivedAt')) as { receivedAt: Date } | undefined;
  const lastEventAt = newest?.receivedAt ?? null;
  const checkpoint = await TelemetryCheckpoint.query(db).findById(EXPORT_CHECKPOINT);
  const lastExport = await TelemetryExport.query(db).whereNotNull('committedAt').orderBy('committedAt', 'desc').first();
  const backlog = await exportBacklog(db);
  const ingestionLag = lastEventAt ? Math.max(0, Math.floor((Date.now() - lastEventAt.getTime()) / 1000)) : null;
  return {
    ingestion: {
      lastEventAt: lastEventAt?.toISOString() ?? null,
      lagSeconds: ingestionLag,
      stale: ingestionLag === null || ingestionLag > minutes(thresholds.TELEMETRY_FRESHNESS_INGESTION_THRESHOLD_MINUTES),
    },
    export: {
      checkpointAt: checkpoint?.checkpointAt?.toISOString() ?? null,
      lastExportAt: lastExport?.committedAt?.toISOString() ?? null,
      lagSeconds: backlog.lagSeconds,
      pending: backlog.pending,
      stale: backlog.lagSeconds > minutes(thresholds.TELEMETRY_FRESHNESS_EXPORT_THRESHOLD_MINUTES),
    },
  };
}
