// One declaration per endpoint: its schemas validate the request, type the
// handler and describe the route in the OpenAPI document.
import type { Static, TSchema } from '@sinclair/typebox';
import type { ParameterizedContext } from 'koa';
import type { Role } from '../schemas/common';
import type { AppDeps } from './deps';
import type { Principal } from './middleware/auth';

export type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';

/** `public`: no token; `stripe-signature`: verified by the handler; otherwise the roles allowed. */
export type Access = 'public' | 'stripe-signature' | readonly Role[];

export interface ResponseSpec {
  description: string;
  schema?: TSchema;
  /** Default application/json (e.g. text/event-stream for a stream). */
  contentType?: string;
}

export interface HandlerInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal;
  /** The text a JSON `body` was parsed from (bodies are validated uncoerced, so it says the same). */
  bodyText?: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer | undefined;
  requestId: string;
  deps: AppDeps;
}

export interface HandlerResult {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface RouteSpec<P extends TSchema, Q extends TSchema, B extends TSchema> {
  method: Method;
  /** Koa path, e.g. `/api/v1/assets/:id`. */
  path: string;
  summary: string;
  tag: string;
  access: Access;
  /** Token-bucket group; omit to exempt the route (health, webhooks). */
  rateGroup?: string;
  params?: P;
  query?: Q;
  body?: B;
  /** Headers documented in OpenAPI (validated by the handler). */
  headers?: Array<{ name: string; required: boolean; description: string }>;
  /** Request body arrives raw (webhooks). */
  rawBody?: boolean;
  responses: Record<number, ResponseSpec>;
  handler: (input: HandlerInput<Static<P>, Static<Q>, Static<B>>, ctx: ParameterizedContext) => Promise<HandlerResult>;
}

export type AnyRoute = RouteSpec<TSchema, TSchema, TSchema>;

export function defineRoute<P extends TSchema, Q extends TSchema, B extends TSchema>(
  spec: RouteSpec<P, Q, B>,
): AnyRoute {
  return spec as unknown as AnyRoute;
}
