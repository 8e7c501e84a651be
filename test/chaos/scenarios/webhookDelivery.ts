import { recordOutboxEvent } from '../../../services/notifications/outbox';
import { webhookDeliveryWorkflowId } from '../../../workflows/webhookDelivery.contract';
import { call } from '../../support/http';
import { shared, temporalClient } from '../../support/shared';
import { waitFor } from '../../support/wait';
import { admin, registerEndpoint, WebhookReceiver } from '../../support/webhooks';
import type { Scenario } from '../matrix/types';
import { settledResult, times, type RunRef } from './runs';

interface Delivering {
  receiver: WebhookReceiver;
  endpoint: { id: string; url: string };
  eventIds: string[];
  runs: RunRef[];
}

/**
 * Committed outbox events delivered to a 127.0.0.1 receiver that fails each event's first attempt
 * (500 for one half, no answer until the 10 s timeout for the other): the runs wait on their retry
 * timers when the part is killed. Every event must arrive at least once with 200, always under its own
 * webhook-id, and nothing but committed outbox events may arrive.
 */
export const webhookDelivery: Scenario<Delivering> = {
  process: 'webhook delivery',
  stripeCalls: [],
  workerEnv: { WEBHOOK_RETRY_SCHEDULE_SECONDS: '1,2,3,5,5,5,5,5,5,5,10,10,10,10,10,10,10,10', WEBHOOK_DISPATCH_INTERVAL_MS: '200' },
  async start(ctx) {
    const receiver = await WebhookReceiver.start();
    const failedOnce = new Set<string>();
    receiver.answer = (w) => {
      if (failedOnce.has(w.event.id)) return 200;
      failedOnce.add(w.event.id);
      return Number.parseInt(w.event.id.slice(-1), 16) % 2 === 0 ? 500 : 'hang';
    };
    const url = receiver.endpointUrl();
    const { id } = await registerEndpoint(ctx.api.url, url, ['payment.succeeded']);
    const eventIds = await times(ctx.runs, () => recordOutboxEvent(shared().db, 'payment.succeeded', { payment: { id: `chaos-${id}` } }));
    const runs = eventIds.map((eventId) => ({ workflowId: webhookDeliveryWorkflowId(id, eventId) }));
    const client = await temporalClient();
    await waitFor('every delivery run to be started', async () => {
      const started = await Promise.all(runs.map((r) => client.workflow.getHandle(r.workflowId).describe().then(() => true, () => false)));
      return started.every(Boolean) || undefined;
    }, 60_000);
    return { receiver, endpoint: { id, url }, eventIds, runs };
  },
  runsOf: (state) => state.runs,
  async settle(ctx, { receiver, endpoint, eventIds, runs }, checks) {
    try {
      for (const run of runs) checks.equal((await settledResult<{ status: string }>(run)).status, 'succeeded', `${run.workflowId} delivered`);
      // Endpoints are matched at dispatch: events committed earlier and not yet dispatched come too (real ones).
      const atEndpoint = receiver.received.filter((w) => endpoint.url.endsWith(w.path));
      const arrived = [...new Set(atEndpoint.map((w) => w.event.id))];
      const recorded = (await shared().db('outbox_events').whereIn('id', arrived).select('id')) as Array<{ id: string }>;
      checks.equal(recorded.map((r) => r.id).sort(), [...arrived].sort(), 'every event that arrived is a committed outbox event (none invented)');
      checks.that(eventIds.every((id) => arrived.includes(id)), 'every event of the case arrived');
      for (const w of atEndpoint) checks.equal(w.headers['webhook-id'], w.event.id, `webhook-id of an attempt at ${w.event.id}`);
      for (const eventId of eventIds) {
        checks.that(atEndpoint.some((w) => w.event.id === eventId && w.answered === 200), `event ${eventId} answered 200 at least once`);
      }
      const rows = (await shared().db('webhook_deliveries').where({ endpointId: endpoint.id }).whereIn('eventId', eventIds)) as Array<{ eventId: string; status: string }>;
      checks.equal(rows.map((r) => `${r.eventId}:${r.status}`).sort(), eventIds.map((e) => `${e}:succeeded`).sort(), 'one succeeded delivery row per event');
    } finally {
      await call(ctx.api.url, 'DELETE', `/api/v1/webhook-endpoints/${endpoint.id}`, { token: admin() });
      await receiver.close();
    }
  },
};
