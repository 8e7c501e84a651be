import type { TObject, TSchema } from '@sinclair/typebox';
import { ErrorBody } from '../schemas/common';
import type { AnyRoute } from './route';

const STANDARD_ERRORS: Record<number, string> = {
  400: 'malformed JSON or a schema violation',
  429: 'rate limited (see Retry-After)',
  500: 'unexpected error',
};
const AUTH_ERRORS: Record<number, string> = { 401: 'missing, invalid or expired token', 403: 'role not allowed' };

const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** Plain JSON of a TypeBox schema (its symbol keys dropped). */
const plain = (schema: TSchema): Record<string, unknown> => JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;

function parameters(route: AnyRoute) {
  const fromObject = (schema: TSchema | undefined, where: 'path' | 'query') => {
    if (!schema) return [];
    const object = schema as TObject;
    const required = new Set(object.required ?? []);
    return Object.entries(object.properties).map(([name, s]) => ({
      name,
      in: where,
      required: where === 'path' || required.has(name),
      schema: plain(s),
    }));
  };
  const headers = (route.headers ?? []).map((h) => ({
    name: h.name,
    in: 'header',
    required: h.required,
    description: h.description,
    schema: { type: 'string' },
  }));
  return [...fromObject(route.params, 'path'), ...fromObject(route.query, 'query'), ...headers];
}

function responses(route: AnyRoute) {
  const errorRef = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const out: Record<string, unknown> = {};
  const errors = { ...STANDARD_ERRORS, ...(Array.isArray(route.access) ? AUTH_ERRORS : {}) };
  for (const [status, description] of Object.entries(errors)) out[status] = { description, ...errorRef };
  for (const [status, spec] of Object.entries(route.responses)) {
    const isError = Number(status) >= 400;
    out[status] = {
      description: spec.description,
      ...(isError ? errorRef : spec.schema ? { content: { [spec.contentType ?? 'application/json']: { schema: plain(spec.schema) } } } : {}),
    };
  }
  return out;
}

function operation(route: AnyRoute) {
  const roles = Array.isArray(route.access) ? route.access : [];
  return {
    operationId: `${route.method}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
    summary: route.summary,
    tags: [route.tag],
    ...(roles.length ? { security: [{ bearer: [] }], 'x-roles': roles } : { security: [] }),
    parameters: parameters(route),
    ...(route.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: plain(route.body) } } } }
      : route.rawBody
        ? { requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } } }
        : {}),
    responses: responses(route),
  };
}

/** The OpenAPI 3.1 document, built from the same schemas that validate requests. */
export function buildOpenApi(routes: readonly AnyRoute[], version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = toOpenApiPath(route.path);
    paths[path] = { ...paths[path], [route.method]: operation(route) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Edulure Flow API',
      version,
      description: 'Starts and inspects the durable business processes of Edulure. Errors share one envelope.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Error: plain(ErrorBody) },
    },
    paths,
  };
}
