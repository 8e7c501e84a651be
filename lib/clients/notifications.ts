// The typed client of webhook deliveries: the dispatcher and the API start them only through here.
import type { Client } from '@temporalio/client';
import type { Run } from '../../schemas/common';
import type { TemporalSettings } from '../temporal';
import type { webhookDelivery } from '../../workflows/webhookDelivery';
import {
  NOTIFICATIONS_DOMAIN,
  NOTIFICATIONS_TASK_QUEUE,
  WEBHOOK_DELIVERY_WORKFLOW,
  webhookDeliveryWorkflowId,
  type WebhookDeliveryInput,
} from '../../workflows/webhookDelivery.contract';
import { startOrGetRun } from './calls';

/**
 * Starts the delivery of an event to an endpoint, or answers the run that already holds its ID
 * (a repeated dispatch never sends twice); `rerun` starts a new run after a closed one (a manual retry).
 */
export function startWebhookDelivery(client: Client, settings: TemporalSettings, input: WebhookDeliveryInput, rerun = false): Promise<Run> {
  return startOrGetRun<typeof webhookDelivery>(client, settings, {
    workflowType: WEBHOOK_DELIVERY_WORKFLOW,
    taskQueue: NOTIFICATIONS_TASK_QUEUE,
    domain: NOTIFICATIONS_DOMAIN,
    workflowId: webhookDeliveryWorkflowId(input.endpointId, input.eventId),
    args: [input],
    businessKey: `${input.endpointId}:${input.eventId}`,
    summary: `webhook delivery of event ${input.eventId} to endpoint ${input.endpointId}`,
    allowRerun: rerun,
  });
}
