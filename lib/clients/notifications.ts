// The typed client of webhook deliveries: the dispatcher and the API start them only through here.
import type { Client } from '@temporalio/client';
import type { Run } from '../../schemas/common';
import { describeRun, runSearchAttributes, type TemporalSettings } from '../temporal';
import type { webhookDelivery } from '../../workflows/webhookDelivery';
import {
  NOTIFICATIONS_DOMAIN,
  NOTIFICATIONS_TASK_QUEUE,
  WEBHOOK_DELIVERY_WORKFLOW,
  webhookDeliveryWorkflowId,
  type WebhookDeliveryInput,
} from '../../workflows/webhookDelivery.contract';
import { startOrGetRun, withDeadline } from './calls';

const summaryOf = (input: WebhookDeliveryInput) => `webhook delivery of event ${input.eventId} to endpoint ${input.endpointId}`;
const businessKeyOf = (input: WebhookDeliveryInput) => `${input.endpointId}:${input.eventId}`;

/**
 * Starts the delivery of an event to an endpoint, or answers the run that already holds its ID
 * (a repeated dispatch never sends twice, even after that run closed).
 */
export function startWebhookDelivery(client: Client, settings: TemporalSettings, input: WebhookDeliveryInput): Promise<Run> {
  return startOrGetRun<typeof webhookDelivery>(client, settings, {
    workflowType: WEBHOOK_DELIVERY_WORKFLOW,
    taskQueue: NOTIFICATIONS_TASK_QUEUE,
    domain: NOTIFICATIONS_DOMAIN,
    workflowId: webhookDeliveryWorkflowId(input.endpointId, input.eventId),
    args: [input],
    businessKey: businessKeyOf(input),
    summary: summaryOf(input),
  });
}

/**
 * A manual retry of a `failed` delivery: a new run under the same ID. A run still open then has
 * already recorded the failure and is only closing, so it is ended in favour of the new one.
 */
export function restartWebhookDelivery(client: Client, settings: TemporalSettings, input: WebhookDeliveryInput): Promise<Run> {
  return withDeadline(client, async () => {
    const handle = await client.workflow.start<typeof webhookDelivery>(WEBHOOK_DELIVERY_WORKFLOW, {
      workflowId: webhookDeliveryWorkflowId(input.endpointId, input.eventId),
      taskQueue: NOTIFICATIONS_TASK_QUEUE,
      args: [input],
      workflowIdConflictPolicy: 'TERMINATE_EXISTING',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: runSearchAttributes(NOTIFICATIONS_DOMAIN, businessKeyOf(input)),
      staticSummary: summaryOf(input),
    });
    return describeRun(settings, handle);
  });
}
