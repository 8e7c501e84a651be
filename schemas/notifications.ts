import { Type, type Static } from '@sinclair/typebox';
import { AuditReason } from './audit';
import { ListOf, ListQueryProperties, Progress, Run, RunStatus, Timestamp, Uuid } from './common';

/** Every event a webhook endpoint may subscribe to (SPEC §4.7); no wildcards. */
export const WEBHOOK_EVENT_TYPES = [
  'asset.ready',
  'asset.failed',
  'asset.quarantined',
  'asset.deleted',
  'payment.succeeded',
  'payment.failed',
  'payment.canceled',
  'refund.succeeded',
  'refund.failed',
  'dispute.created',
  'dispute.closed',
  'telemetry_export.committed',
  'retention_run.completed',
  'retention_run.failed',
  'retention_run.canceled',
  'release.ready',
  'release.approved',
  'release.expired',
  'run.failed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const WebhookEventTypeSchema = Type.Union(WEBHOOK_EVENT_TYPES.map((t) => Type.Literal(t)));
const Events = Type.Array(WebhookEventTypeSchema, { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES.length, uniqueItems: true });
const WebhookUrl = Type.String({ minLength: 8, maxLength: 2000, pattern: '^https?://', description: 'https, or http to a host in WEBHOOK_ALLOWED_HTTP_HOSTS' });
const Description = Type.String({ maxLength: 500 });

export const WebhookEndpoint = Type.Object({
  id: Uuid,
  url: Type.String(),
  events: Type.Array(Type.String()),
  description: Type.Union([Type.String(), Type.Null()]),
  active: Type.Boolean(),
  createdAt: Timestamp,
});
export type WebhookEndpointView = Static<typeof WebhookEndpoint>;

export const WebhookEndpointResponse = Type.Object({ endpoint: WebhookEndpoint });
export const WebhookEndpointWithSecretResponse = Type.Object({
  endpoint: Type.Composite([WebhookEndpoint, Type.Object({ secret: Type.String({ description: '`whsec_…`, shown only here' }) })]),
});
export const WebhookEndpointList = ListOf(WebhookEndpoint);

export const CreateWebhookEndpointBody = Type.Object(
  { url: WebhookUrl, events: Events, description: Type.Optional(Description), reason: Type.Optional(AuditReason) },
  { additionalProperties: false },
);
export type CreateWebhookEndpointBody = Static<typeof CreateWebhookEndpointBody>;

export const UpdateWebhookEndpointBody = Type.Object(
  {
    url: Type.Optional(WebhookUrl),
    events: Type.Optional(Events),
    description: Type.Optional(Type.Union([Description, Type.Null()])),
    active: Type.Optional(Type.Boolean()),
    reason: Type.Optional(AuditReason),
  },
  { additionalProperties: false },
);
export type UpdateWebhookEndpointBody = Static<typeof UpdateWebhookEndpointBody>;

export const ReasonBody = Type.Object({ reason: Type.Optional(AuditReason) }, { additionalProperties: false });

export const DeliveryStatus = Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]);
export type DeliveryStatus = Static<typeof DeliveryStatus>;

export const DeliveryAttempt = Type.Object({
  at: Timestamp,
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  latencyMs: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
});

export const WebhookDelivery = Type.Object({
  id: Uuid,
  endpointId: Uuid,
  eventId: Uuid,
  type: Type.String(),
  status: DeliveryStatus,
  attempts: Type.Array(DeliveryAttempt),
});
export type WebhookDeliveryView = Static<typeof WebhookDelivery>;
export const WebhookDeliveryList = ListOf(WebhookDelivery);
export const RetryDeliveryResponse = Type.Object({ delivery: WebhookDelivery, run: Run });

export const ListPageQuery = Type.Object({ ...ListQueryProperties }, { additionalProperties: false });
export type ListPageQuery = Static<typeof ListPageQuery>;

export const DeliveryParams = Type.Object({ id: Uuid, deliveryId: Uuid }, { additionalProperties: false });

/** What a `webhookDelivery` run is given: ids only, never a secret or the URL. */
export interface WebhookDeliveryInput {
  endpointId: string;
  eventId: string;
  /** Waits before each retry, in seconds (WEBHOOK_RETRY_SCHEDULE_SECONDS). */
  retryScheduleSeconds: number[];
}

export interface WebhookDeliveryResult {
  endpointId: string;
  eventId: string;
  status: 'succeeded' | 'failed';
}

export interface DeliveryAttemptOutcome {
  delivered: boolean;
  /** The endpoint is gone or inactive: retrying cannot help. */
  abandon: boolean;
}

/** Documentation of the progress stream's frames (text/event-stream, not JSON). */
export const ProgressFrame = Progress;
export const EndFrame = Type.Object({ status: RunStatus });
