// Activities of webhook deliveries: each attempt loads and decrypts the endpoint's secrets
// itself (they never enter a workflow input), re-checks the URL, signs and sends once, and
// records what happened. Retrying an attempt may send again, under the same webhook-id.
import type { Db } from '../lib/db';
import { sendWebhook } from '../providers/webhookSender';
import { deliveryTarget, failDelivery, recordAttempt, signatureHeader } from '../services/notifications/deliveries';
import { checkedAddress, type UrlRules } from '../services/notifications/urls';
import type { DeliveryAttemptOutcome } from '../workflows/webhookDelivery.contract';

export interface NotificationActivityDeps {
  db: Db;
  secretKey: Buffer;
  urlRules: UrlRules;
}

export function createNotificationActivities({ db, secretKey, urlRules }: NotificationActivityDeps) {
  async function attemptDelivery(endpointId: string, eventId: string): Promise<DeliveryAttemptOutcome> {
    const at = new Date();
    const target = await deliveryTarget(db, secretKey, endpointId, eventId, at);
    if (!target) return { delivered: false, abandon: true };
    if (target.delivery.status === 'succeeded') return { delivered: true, abandon: false };
    let result;
    try {
      const address = await checkedAddress(target.endpoint.url, urlRules);
      const timestamp = Math.floor(at.getTime() / 1000);
      const headers = {
        'webhook-id': eventId,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureHeader(target.secrets, eventId, timestamp, target.body),
      };
      result = await sendWebhook(address, headers, target.body);
    } catch (err) {
      result = { statusCode: null, latencyMs: Date.now() - at.getTime(), error: (err as Error).message };
    }
    const delivered = result.error === null;
    await recordAttempt(db, target.delivery.id, { at, ...result }, delivered);
    return { delivered, abandon: false };
  }

  return {
    attemptDelivery,
    failDelivery: (endpointId: string, eventId: string) => failDelivery(db, endpointId, eventId),
  };
}

export type NotificationActivities = ReturnType<typeof createNotificationActivities>;
