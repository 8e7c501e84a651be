import { buildOpenApi } from '../openapi';
import { defineRoute, type AnyRoute } from '../route';
import { assetRoutes } from './assets';
import { systemRoutes } from './system';
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
export const allRoutes: readonly AnyRoute[] = [...systemRoutes, docsRoute, ...assetRoutes];

let document: ReturnType<typeof buildOpenApi> | undefined;
function openApiDocument() {
  document ??= buildOpenApi(allRoutes, version);
  return document;
}
