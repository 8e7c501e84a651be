// The outbox dispatcher: a short poll run by each worker serving the `notifications` task queue.
// Replicas share the work (each event is locked by one), and a failed poll is simply retried.
import type { Client } from '@temporalio/client';
import type { Config } from '../lib/config';
import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import { startWebhookDelivery } from '../lib/clients/notifications';
import { dispatchPending } from '../services/notifications/dispatcher';
import { notificationSettings } from '../services/notifications/settings';

export interface Dispatcher {
  stop(): Promise<void>;
}

export function startDispatcher(config: Config, db: Db, client: Client, logger: Logger): Dispatcher {
  const { retryScheduleSeconds } = notificationSettings(config);
  const start = async (endpointId: string, eventId: string) => {
    await startWebhookDelivery(client, config, { endpointId, eventId, retryScheduleSeconds });
  };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const poll = async (): Promise<void> => {
    try {
      // A full batch means more are waiting: go again at once.
      while (!stopped && (await dispatchPending(db, start)) > 0) { /* drain */ }
    } catch (err) {
      logger.warn('outbox dispatch failed; retrying', { err });
    }
    if (!stopped) timer = setTimeout(() => { running = poll(); }, config.WEBHOOK_DISPATCH_INTERVAL_MS);
  };
  running = poll();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
