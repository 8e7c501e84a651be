import { forbidden } from '../../lib/errors';
import { startManualTelemetryExport } from '../../lib/clients/telemetry';
import {
  Freshness,
  IngestEventsBody,
  IngestEventsResponse,
  ListExportsQuery,
  MAX_EVENTS_PER_REQUEST,
  RecordConsentBody,
  RecordConsentResponse,
  StartExportResponse,
  TelemetryExportList,
} from '../../schemas/telemetry';
import { freshness, ingestEvents, listExports, recordConsent } from '../../services/telemetry';
import { TELEMETRY_EXPORT_WORKFLOW, telemetryExportInput } from '../../workflows/telemetryExport.contract';
import { hasRole } from '../middleware/auth';
import { defineRoute } from '../route';
import { countIngestion } from '../telemetryMetrics';
import { startSummary } from '../../lib/dataConverter';

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
      const outcome = await ingestEvents(deps.db, deps.config, body.events, bodyText ?? JSON.stringify(body));
      countIngestion(deps.metrics, outcome);
      return { status: 202, body: outcome };
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
      return { status: 201, body: await recordConsent(deps.db, body, principal.sub) };
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
      const summary = startSummary(deps.config, `Manual telemetry export requested by ${principal.sub}`, 'Manual telemetry export');
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
    handler: async ({ query, deps }) => ({ status: 200, body: await listExports(deps.db, query) }),
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/telemetry/freshness',
    summary: 'How fresh ingestion and exports are, with staleness from TELEMETRY_FRESHNESS_*_THRESHOLD_MINUTES',
    tag: 'telemetry',
    access: OPERATORS,
    rateGroup: 'telemetry',
    responses: { 200: { description: 'freshness of the pipeline', schema: Freshness } },
    handler: async ({ deps }) => ({ status: 200, body: await freshness(deps.db, deps.config) }),
  }),
];
