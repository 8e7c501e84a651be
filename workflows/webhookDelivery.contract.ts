// Shared by the dispatcher, the API and the workflow: how to find and start a webhook delivery.
import type { DeliveryAttemptOutcome, WebhookDeliveryInput, WebhookDeliveryResult } from '../schemas/notifications';

export type { DeliveryAttemptOutcome, WebhookDeliveryInput, WebhookDeliveryResult };
export { progressQuery, type Progress } from './progress';

export const WEBHOOK_DELIVERY_WORKFLOW = 'webhookDelivery';
export const NOTIFICATIONS_TASK_QUEUE = 'notifications';
export const NOTIFICATIONS_DOMAIN = 'notifications';

export const webhookDeliveryWorkflowId = (endpointId: string, eventId: string): string => `webhook:${endpointId}:${eventId}`;
