import { restartWebhookDelivery } from '../../lib/clients/notifications';
import { IdParams } from '../../schemas/common';
import {
  CreateWebhookEndpointBody,
  DeliveryParams,
  ListPageQuery,
  ReasonBody,
  RetryDeliveryResponse,
  UpdateWebhookEndpointBody,
  WebhookDeliveryList,
  WebhookEndpointList,
  WebhookEndpointResponse,
  WebhookEndpointWithSecretResponse,
} from '../../schemas/notifications';
import * as notifications from '../../services/notifications';
import type { AuditContext } from '../../services/audit';
import type { AppDeps } from '../deps';
import type { Principal } from '../middleware/auth';
import { defineRoute } from '../route';

const ADMIN = ['admin'] as const;
const by = (principal: Principal, requestId: string): AuditContext => ({ actor: principal, requestId });
const settingsOf = (deps: AppDeps) => notifications.notificationSettings(deps.config);
const notFound = { description: 'unknown webhook endpoint' };
const urlRefused = { description: 'WEBHOOK_URL_NOT_ALLOWED: the URL breaks the rules of SPEC §4.7' };

export const webhookEndpointRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/v1/webhook-endpoints',
    summary: 'Register a webhook endpoint; the answer holds its signing secret, shown only this once (audited)',
    tag: 'notifications',
    access: ADMIN,
    rateGroup: 'notifications',
    body: CreateWebhookEndpointBody,
    responses: { 201: { description: 'the endpoint and its secret', schema: WebhookEndpointWithSecretResponse }, 422: urlRefused },
    handler: async ({ body, principal, requestId, deps }) => ({
      status: 201,
      body: { endpoint: await notifications.createEndpoint(deps.db, settingsOf(deps), body, by(principal, requestId)) },
    }),
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/webhook-endpoints',
    summary: 'The webhook endpoints',
    tag: 'notifications',
    access: ADMIN,
    rateGroup: 'notifications',
    query: ListPageQuery,
    responses: { 200: { description: 'a page of endpoints', schema: WebhookEndpointList } },
    handler: async ({ query, deps }) => ({ status: 200, body: await notifications.listEndpoints(deps.db, query) }),
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/webhook-endpoints/:id',
    summary: 'A webhook endpoint (never its secret)',
    tag: 'notifications',
    access: ADMIN,
    rateGroup: 'notifications',
    params: IdParams,
    responses: { 200: { description: 'the endpoint', schema: WebhookEndpointResponse }, 404: notFound },
    handler: async ({ params, deps }) => ({ status: 200, body: { endpoint: await notifications.getEndpoint(deps.db, params.id) } }),
  }),

  defineRoute({
    method: 'patch',
    path: '/api/v1/webhook-endpoints/:id',
    summary: 'Change a webhook endpoint\'s URL, events, description or active flag (audited)',
    tag: 'notifications',
    access: ADMIN,
    rateGroup: 'notifications',
    params: IdParams,
    body: UpdateWebhookEndpointBody,
    responses: { 200: { description: 'the endpoint', schema: WebhookEndpointResponse }, 404: notFound, 422: urlRefused },
    handler: async ({ params, body, principal, requestId, deps }) => ({
      status: 200,
      body: { endpoint: await notifications.updateEndpoint(deps.db, settingsOf(deps), params.id, body, by(principal, requestId)) },
    }),
  }),

  defineRoute({
    method: 'delete',
    path: '/api/v1/webhook-endpoints/:id',
    summary: 'Delete a webhook endpoint: it receives nothing more (audited)',
    tag: 'notifications',
    access: ADMIN,
    rateGroup: 'notifications',
    params: IdParams,
    body: ReasonBody,
    responses: { 204: { description: 'deleted' }, 404: notFound },
    handler: async ({ params, body, principal, requestId, deps }) => {
      await notifications.deleteEndpoint(deps.db, params.id, body.reason, by(principal, requestId));
      return { status: 204, body: null };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/webhook-endpoints/:id/rotate-secret',
    summary: 'A new signing secret (shown once); the old one keeps signing beside it for 24 h (audited)',
    tag: 'notifications',
    access: ADMIN,
    rateGroup: 'notifications',
    params: IdParams,
    body: ReasonBody,
    responses: { 200: { description: 'the endpoint and its new secret', schema: WebhookEndpointWithSecretResponse }, 404: notFound },
    handler: async ({ params, body, principal, requestId, deps }) => ({
      status: 200,
      body: { endpoint: await notifications.rotateSecret(deps.db, settingsOf(deps), params.id, body.reason, by(principal, requestId)) },
    }),
  }),

  defineRoute({
    method: 'get',
    path: '/api/v1/webhook-endpoints/:id/deliveries',
    summary: 'The deliveries to a webhook endpoint with their attempts, newest first',
    tag: 'notifications',
    access: ADMIN,
    rateGroup: 'notifications',
    params: IdParams,
    query: ListPageQuery,
    responses: { 200: { description: 'a page of deliveries', schema: WebhookDeliveryList }, 404: notFound },
    handler: async ({ params, query, deps }) => ({ status: 200, body: await notifications.listDeliveries(deps.db, params.id, query) }),
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/webhook-endpoints/:id/deliveries/:deliveryId/retry',
    summary: 'Start a failed delivery again under the same workflow ID (a pending one → 409)',
    tag: 'notifications',
    access: ADMIN,
    rateGroup: 'notifications',
    params: DeliveryParams,
    body: ReasonBody,
    responses: {
      202: { description: 'the delivery and its new run', schema: RetryDeliveryResponse },
      404: { description: 'unknown endpoint or delivery' },
      409: { description: 'DELIVERY_PENDING or DELIVERY_SUCCEEDED' },
    },
    handler: async ({ params, deps }) => {
      const delivery = await notifications.reopenDelivery(deps.db, params.id, params.deliveryId);
      const input = { endpointId: delivery.endpointId, eventId: delivery.eventId, retryScheduleSeconds: settingsOf(deps).retryScheduleSeconds };
      const run = await restartWebhookDelivery(deps.temporal, deps.config, input).catch(async (err: unknown) => {
        // No run took it: it stays retryable.
        await notifications.failDelivery(deps.db, delivery.endpointId, delivery.eventId);
        throw err;
      });
      return { status: 202, body: { delivery: await notifications.deliveryView(deps.db, delivery.id), run } };
    },
  }),
];
