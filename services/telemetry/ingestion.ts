// Telemetry ingestion: which events are stored, and as what.
import type { Config } from '../../lib/config';
import type { Db } from '../../lib/db';
import { tooLarge, unavailable, unprocessable } from '../../lib/errors';
import { MAX_EVENTS_PER_REQUEST, type IngestEventsResponse, type RejectedEvent, type TelemetryEventInput } from '../../schemas/telemetry';
import type { PoolClient } from 'pg';
import { HOLD_INGESTION_SHARED } from './exportProtocol';

export type IngestionSettings = Pick<
  Config,
  | 'TELEMETRY_INGESTION_ENABLED'
  | 'TELEMETRY_ALLOWED_SOURCES'
  | 'TELEMETRY_STRICT_SOURCE_ENFORCEMENT'
  | 'TELEMETRY_DEFAULT_SCOPE'
  | 'TELEMETRY_CONSENT_HARD_BLOCK'
>;

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
 * Postgres counts the stored rows by status: the API reads one row back, not one per event.
 */
const INSERT_EVENTS = `WITH stored AS (INSERT INTO telemetry_events (event_id, source, name, occurred_at, user_id, scope, properties, status)
  SELECT e."eventId", e.source, e.name, e."occurredAt", e."userId", coalesce(e.scope, $1), e.properties,
         CASE WHEN NOT $2::boolean OR e."userId" IS NULL OR c.status = 'granted' THEN 'accepted' ELSE 'suppressed' END
  FROM ROWS FROM (jsonb_to_recordset($3::jsonb -> 'events')
         AS ("eventId" text, source text, name text, "occurredAt" timestamptz, "userId" text, scope text, properties jsonb))
       WITH ORDINALITY AS e
  LEFT JOIN LATERAL (
    SELECT status FROM telemetry_consents c WHERE c.user_id = e."userId" AND c.scope = coalesce(e.scope, $1) ORDER BY c.id DESC LIMIT 1
  ) c ON true
  WHERE e.source = ANY($4::text[])
  ORDER BY e.ordinality
  ON CONFLICT (event_id) DO NOTHING
  RETURNING status)
  SELECT count(*) FILTER (WHERE status = 'accepted')::int AS accepted, count(*) FILTER (WHERE status = 'suppressed')::int AS suppressed FROM stored`;

/**
 * Stores the events of an ingestion request with one INSERT: events of a source not
 * allowed are left out, the unique event id drops duplicates (in the database and within
 * the request), and each event's status comes from the newest consent of its user in its
 * scope. Events without a user carry no personal data and need no consent.
 */
async function storeEvents(db: Db, settings: IngestionSettings, requestJson: string, allowed: Set<string>) {
  const conn = (await db.client.acquireConnection()) as PoolClient;
  try {
    // BEGIN and the lock in one round trip (a simple query may hold several statements); the INSERT follows.
    await conn.query(`BEGIN; ${HOLD_INGESTION_SHARED}`);
    const { rows } = await conn.query<{ accepted: number; suppressed: number }>(INSERT_EVENTS, [
      settings.TELEMETRY_DEFAULT_SCOPE,
      settings.TELEMETRY_CONSENT_HARD_BLOCK,
      requestJson,
      [...allowed],
    ]);
    await conn.query('COMMIT');
    return rows[0];
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await db.client.releaseConnection(conn);
  }
}

/** Ingests a request's events (`requestJson` is the request body they were parsed from) and says what became of them. */
export async function ingestEvents(
  db: Db,
  settings: IngestionSettings,
  events: TelemetryEventInput[],
  requestJson: string,
): Promise<IngestEventsResponse> {
  if (!settings.TELEMETRY_INGESTION_ENABLED) {
    throw unavailable('TELEMETRY_INGESTION_DISABLED', 'telemetry ingestion is switched off (TELEMETRY_INGESTION_ENABLED=false)');
  }
  if (events.length > MAX_EVENTS_PER_REQUEST) {
    throw tooLarge('TOO_MANY_EVENTS', `at most ${MAX_EVENTS_PER_REQUEST} events a request; nothing was stored`);
  }
  const allowed = new Set(settings.TELEMETRY_ALLOWED_SOURCES);
  const rejected = rejectUnknownSources(allowed, settings.TELEMETRY_STRICT_SOURCE_ENFORCEMENT, events);
  const stored = rejected.length === events.length ? { accepted: 0, suppressed: 0 } : await storeEvents(db, settings, requestJson, allowed);
  const duplicates = events.length - rejected.length - stored.accepted - stored.suppressed;
  return { accepted: stored.accepted, duplicates, suppressed: stored.suppressed, rejected };
}
