import { buildOpenApi } from '../openapi';
import { defineRoute, type AnyRoute } from '../route';
import { assetRoutes } from './assets';
import { auditRoutes } from './audit';
import { paymentRoutes } from './payments';
import { runRoutes } from './runs';
import { scheduleRoutes } from './schedules';
import { releaseRoutes } from './releases';
import { retentionRoutes } from './retention';
import { systemRoutes } from './system';
import { telemetryRoutes } from './telemetry';
import { temporalCodecRoutes } from './temporalCodec';
import { webhookRoutes } from './webhooks';
import { webhookEndpointRoutes } from './webhookEndpoints';
import { runProgressRoutes } from './runProgress';
import { Type } from '@sinclair/typebox';
import { version } from '../../package.json';

const docsRoute = defineRoute({
  method: 'get',
  path: '/api/docs',
  summary: 'This OpenAPI 3.1 document',
  tag: 'system',
  access: 'public',
  responses: { 200: { description: 'OpenAPI 3.1 JSON', schema: Type.Object({ openapi: Type.String() }) } },
  handler: async () => ({ status: 200, body: openApiDocument() }),
});

/** Every route the API serves; the OpenAPI document is built from this list. */
export const allRoutes: readonly AnyRoute[] = [...systemRoutes, docsRoute, ...assetRoutes, ...paymentRoutes, ...webhookRoutes, ...runRoutes, ...scheduleRoutes, ...releaseRoutes, ...retentionRoutes, ...telemetryRoutes, ...auditRoutes, ...temporalCodecRoutes, ...webhookEndpointRoutes, ...runProgressRoutes];

let document: ReturnType<typeof buildOpenApi> | undefined;
function openApiDocument() {
  document ??= buildOpenApi(allRoutes, version);
  return document;
}
