import { CancellationScope, isCancellation, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { NotificationActivities } from '../activities/notifications';
import { progressQuery, type Progress, type WebhookDeliveryInput, type WebhookDeliveryResult } from './webhookDelivery.contract';

// One attempt is a 10 s POST plus two quick writes. Its own retries only ride out a
// database or worker failure; the receiver's failures are retried on the durable schedule below.
const deliveries = proxyActivities<NotificationActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 20 },
});

export async function webhookDelivery(input: WebhookDeliveryInput): Promise<WebhookDeliveryResult> {
  const { endpointId, eventId, retryScheduleSeconds } = input;
  let progress: Progress = { stage: 'delivering', percent: 0, detail: null };
  setHandler(progressQuery, () => progress);
  const settle = async (status: 'succeeded' | 'failed', detail: string | null): Promise<WebhookDeliveryResult> => {
    if (status === 'failed') await CancellationScope.nonCancellable(() => deliveries.failDelivery(endpointId, eventId));
    progress = { stage: status, percent: 100, detail };
    return { endpointId, eventId, status };
  };

  try {
    for (let attempt = 0; ; attempt += 1) {
      progress = { stage: 'delivering', percent: Math.round((100 * attempt) / (retryScheduleSeconds.length + 1)), detail: `attempt ${attempt + 1}` };
      const outcome = await deliveries.attemptDelivery(endpointId, eventId);
      if (outcome.delivered) return await settle('succeeded', null);
      if (outcome.abandon) return await settle('failed', 'the endpoint is gone or inactive');
      if (attempt >= retryScheduleSeconds.length) return await settle('failed', 'every retry failed');
      progress = { stage: 'waiting', percent: progress.percent, detail: `retry in ${retryScheduleSeconds[attempt]} s` };
      await sleep(retryScheduleSeconds[attempt] * 1000);
    }
  } catch (err) {
    // A canceled run, or one whose bookkeeping exhausted its retries, leaves the delivery
    // `failed` so an admin can retry it; the run still ends Canceled or Failed.
    await settle('failed', isCancellation(err) ? 'canceled' : 'the delivery run failed');
    throw err;
  }
}
