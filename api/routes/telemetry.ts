import {
  claimedThrough,
  exportBacklog,
  EXPORT_CHECKPOINT,
  INGESTION_LOCK_KEY,
  TelemetryCheckpoint,
  TelemetryConsent,
  TelemetryExport,
} from '../../db/models/Telemetry';
import { listOf } from '../../lib/config';
import { forbidden, tooLarge, unavailable, unprocessable } from '../../lib/errors';
import { decodeCursor, page } from '../../lib/pagination';
import { startManualTelemetryExport } from '../../lib/clients/telemetry';
import {
  Freshness,
  IngestEventsBody,
  IngestEventsResponse,
  ListExportsQuery,
  MAX_EVENTS_PER_REQUEST,
  RecordConsentBody,
  RecordConsentResponse,
  type RejectedEvent,
  StartExportResponse,
  type TelemetryEventInput,
  TelemetryExportList,
} from '../../schemas/telemetry';
import { TELEMETRY_EXPORT_WORKFLOW, telemetryExportInput } from '../../workflows/telemetryExport.contract';
import type { AppDeps } from '../deps';
import { hasRole } from '../middleware/auth';
import { defineRoute } from '../route';
import { countIngestion } from '../telemetryMetrics';

const SOURCE_NOT_ALLOWED = 'SOURCE_NOT_ALLOWED';

/** Events whose source is not allowed: rejected one by one, or the whole request under strict enforcement. */
function rejectUnknownSources(allowed: Set<string>, strict: boolean, events: TelemetryEventInput[]): RejectedEvent[] {
  const rejected = events.flatMap((e, index) => (allowed.has(e.source) ? [] : [{ index, code: SOURCE_NOT_ALLOWED }]));
  if (rejected.length > 0 && strict) {
    throw unprocessable(
      SOURCE_NOT_ALLOWED,
      `sources allowed: ${[...allowed].join(', ')}; nothing was stored`,
      rejected.map((r) => ({ path: `body/events/${r.index}/source`, message: `"${events[r.index].source}" is not allowed` })),
    );
  }
  return rejected;
}

/**
 * The bulk insert: one statement for a whole request, reading the events straight from the
 * request's JSON (validated as it is, uncoerced) instead of a copy rebuilt in JavaScript.
 */
const INSERT_EVENTS = `INSERT INTO telemetry_events (event_id, source, name, occurred_at, user_id, scope, properties, status)
  SELECT e."eventId", e.source, e.name, e."occurredAt", e."userId", coalesce(e.scope, ?), e.properties,
         CASE WHEN NOT ?::boolean OR e."userId" IS NULL OR c.status = 'granted' THEN 'accepted' ELSE 'suppressed' END
  FROM ROWS FROM (jsonb_to_recordset(?::jsonb -> 'events')
         AS ("eventId" text, source text, name text, "occurredAt" timestamptz, "userId" text, scope text, properties jsonb))
       WITH ORDINALITY AS e
  LEFT JOIN LATERAL (
    SELECT status FROM telemetry_consents c WHERE c.user_id = e."userId" AND c.scope = coalesce(e.scope, ?) ORDER BY c.id DESC LIMIT 1
  ) c ON true
  WHERE e.source = ANY(?::text[])
  ORDER BY e.ordinality
  ON CONFLICT (event_id) DO NOTHING
  RETURNING status`;

/**
 * Stores the events of an ingestion request with one INSERT: events of a source not
 * allowed are left out, the unique event id drops duplicates (in the database and within
 * the request), and each event's status comes from the newest consent of its user in its
 * scope. Events without a user carry no personal data and need no consent.
 */
async function storeEvents(deps: AppDeps, requestJson: string, allowed: Set<string>) {
  const { db, config } = deps;
  const scope = config.TELEMETRY_DEFAULT_SCOPE;
  const { rows } = (await db.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock_shared(?)', [INGESTION_LOCK_KEY]);
    return trx.raw(INSERT_EVENTS, [scope, config.TELEMETRY_CONSENT_HARD_BLOCK, requestJson, scope, [...allowed]]);
  })) as { rows: Array<{ status: 'accepted' | 'suppressed' }> };
  const accepted = rows.filter((r) => r.status === 'accepted').length;
  return { accepted, suppressed: rows.length - accepted };
}

async function ingest(deps: AppDeps, events: TelemetryEventInput[], requestJson: string): Promise<IngestEventsResponse> {
  const allowed = new Set(listOf(deps.config.TELEMETRY_ALLOWED_SOURCES));
  const rejected = rejectUnknownSources(allowed, deps.config.TELEMETRY_STRICT_SOURCE_ENFORCEMENT, events);
  const stored = rejected.length === events.length ? { accepted: 0, suppressed: 0 } : await storeEvents(deps, requestJson, allowed);
  const duplicates = events.length - rejected.length - stored.accepted - stored.suppressed;
  countIngestion(deps.metrics, { ...stored, duplicate: duplicates, rejected: rejected.length });
  return { accepted: stored.accepted, duplicates, suppressed: stored.suppressed, rejected };
}

async function freshness(deps: AppDeps): Promise<Freshness> {
  const { db, config } = deps;
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
      stale: ingestionLag === null || ingestionLag > minutes(config.TELEMETRY_FRESHNESS_INGESTION_THRESHOLD_MINUTES),
    },
    export: {
      checkpointAt: checkpoint?.checkpointAt?.toISOString() ?? null,
      lastExportAt: lastExport?.committedAt?.toISOString() ?? null,
      lagSeconds: backlog.lagSeconds,
      pending: backlog.pending,
      stale: backlog.lagSeconds > minutes(config.TELEMETRY_FRESHNESS_EXPORT_THRESHOLD_MINUTES),
    },
  };
}

const OPERATORS = ['operator', 'admin'] as const;

export const telemetryRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/v1/telemetry/events',
    summary: `Ingest 1–${MAX_EVENTS_PER_REQUEST} events: duplicates counted, unknown sources rejected, events without consent suppressed`,
    tag: 'telemetry',
    access: ['service'],
    rateGroup: 'telemetry',
    body: IngestEventsBody,
    responses: {
      202: { description: 'what happened to the events', schema: IngestEventsResponse },
      413: { description: `TOO_MANY_EVENTS: more than ${MAX_EVENTS_PER_REQUEST} events` },
      422: { description: 'SOURCE_NOT_ALLOWED under TELEMETRY_STRICT_SOURCE_ENFORCEMENT; nothing stored' },
      503: { description: 'TELEMETRY_INGESTION_DISABLED' },
    },
    handler: async ({ body, bodyText, deps }) => {
      if (!deps.config.TELEMETRY_INGESTION_ENABLED) {
        throw unavailable('TELEMETRY_INGESTION_DISABLED', 'telemetry ingestion is switched off (TELEMETRY_INGESTION_ENABLED=false)');
      }
      if (body.events.length > MAX_EVENTS_PER_REQUEST) {
        throw tooLarge('TOO_MANY_EVENTS', `at most ${MAX_EVENTS_PER_REQUEST} events a request; nothing was stored`);
      }
      return { status: 202, body: await ingest(deps, body.events, bodyText ?? JSON.stringify(body)) };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/telemetry/consents',
    summary: 'Record a consent decision (a versioned ledger); a revocation suppresses pending events of that user and scope',
    tag: 'telemetry',
    access: ['service', 'admin', 'learner'],
    rateGroup: 'telemetry',
    body: RecordConsentBody,
    responses: {
      201: { description: 'the recorded consent', schema: RecordConsentResponse },
      403: { description: 'CONSENT_NOT_OWN: learners record only their own consent' },
    },
    handler: async ({ body, principal, deps }) => {
      if (!hasRole(principal, 'service', 'admin') && body.userId !== principal.sub) {
        throw forbidden('CONSENT_NOT_OWN', 'learners record only their own consent');
      }
      return deps.db.transaction(async (trx) => {
        if (body.status === 'revoked') await trx.raw('SELECT pg_advisory_xact_lock(?)', [INGESTION_LOCK_KEY]);
        const consent = await TelemetryConsent.query(trx).insertAndFetch({ ...body, recordedBy: principal.sub });
        // Claimed events are already being written to their object; everything else still waiting is held back.
        const suppressedEvents = body.status === 'revoked'
          ? await trx('telemetry_events')
            .where({ userId: body.userId, scope: body.scope, status: 'accepted' })
            .where('id', '>', await claimedThrough(trx))
            .update({ status: 'suppressed' })
          : 0;
        return { status: 201, body: { consent: consent.toView(), suppressedEvents } };
      });
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/telemetry/exports',
    summary: 'Start a manual telemetry export now (it exports exactly what the schedule would)',
    tag: 'telemetry',
    access: OPERATORS,
    rateGroup: 'telemetry',
    responses: { 202: { description: 'the export run', schema: StartExportResponse } },
    handler: async ({ deps, principal }) => {
      deps.metrics.workflowStarts.inc({ type: TELEMETRY_EXPORT_WORKFLOW });
      const summary = `Manual telemetry export requested by ${principal.sub}`;
      const run = await startManualTelemetryExport(deps.temporal, deps.config, telemetryExportInput(deps.config), summary);
      return { status: 202, body: { run } };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/telemetry/exports',
    summary: 'Exported batches, newest first',
    tag: 'telemetry',
    access: OPERATORS,
    rateGroup: 'telemetry',
    query: ListExportsQuery,
    responses: { 200: { description: 'a page of batches', schema: TelemetryExportList } },
    handler: async ({ query, deps }) => {
      const limit = query.limit ?? 50;
      const after = decodeCursor(query.cursor, ['createdAt', 'batchId']);
      const q = TelemetryExport.query(deps.db)
        .whereNotNull('committedAt')
        .whereNull('deletedAt')
        .orderBy([{ column: 'createdAt', order: 'desc' }, { column: 'batchId', order: 'desc' }]);
      if (after) q.whereRaw('(created_at, batch_id) < (?, ?)', [after.createdAt, after.batchId]);
      const { items, nextCursor } = page(await q.limit(limit + 1), limit, (e) => ({
        createdAt: e.createdAt.toISOString(),
        batchId: e.batchId,
      }));
      return { status: 200, body: { items: items.map((e) => e.toView()), nextCursor } };
    },
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/telemetry/freshness',
    summary: 'How fresh ingestion and exports are, with staleness from TELEMETRY_FRESHNESS_*_THRESHOLD_MINUTES',
    tag: 'telemetry',
    access: OPERATORS,
    rateGroup: 'telemetry',
    responses: { 200: { description: 'freshness of the pipeline', schema: Freshness } },
    handler: async ({ deps }) => ({ status: 200, body: await freshness(deps) }),
  }),
];
