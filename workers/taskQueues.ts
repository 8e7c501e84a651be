import { createAssetActivities } from '../activities/assets';
import { createPaymentActivities } from '../activities/payments';
import type { Config } from '../lib/config';
import type { Db } from '../lib/db';
import type { Providers } from '../providers';
import { ASSETS_TASK_QUEUE } from '../workflows/assetConversion.contract';
import { PAYMENTS_TASK_QUEUE } from '../workflows/paymentCapture.contract';
import { createRetentionActivities, retentionActivityDeps } from '../activities/retention';
import { RETENTION_TASK_QUEUE } from '../workflows/retentionRun.contract';
import { createReleaseActivities } from '../activities/releases';
import { RELEASES_TASK_QUEUE } from '../workflows/releaseEvaluation.contract';
import { createTelemetryActivities } from '../activities/telemetry';
import { TELEMETRY_TASK_QUEUE } from '../workflows/telemetryExport.contract';
import { createNotificationActivities } from '../activities/notifications';
import { notificationSettings } from '../services/notifications/settings';
import { NOTIFICATIONS_TASK_QUEUE } from '../workflows/webhookDelivery.contract';

export interface TaskQueueWorker {
  taskQueue: string;
  activities: object;
  /** WORKER_ACTIVITY_CONCURRENCY's bound for this queue (undefined: the SDK default). */
  maxConcurrentActivityTaskExecutions?: number;
}

/** One task queue per domain, each with the activities of that domain and its concurrency bound. */
export function taskQueueWorkers(config: Config, db: Db, providers: Providers): TaskQueueWorker[] {
  const workers = domainWorkers(config, db, providers);
  const bounds = config.WORKER_ACTIVITY_CONCURRENCY;
  const unknown = Object.keys(bounds).filter((queue) => !workers.some((w) => w.taskQueue === queue));
  if (unknown.length) throw new Error(`WORKER_ACTIVITY_CONCURRENCY: unknown task queue(s) ${unknown.join(', ')}`);
  return workers.map((w) => ({ ...w, maxConcurrentActivityTaskExecutions: bounds[w.taskQueue] }));
}

function domainWorkers(config: Config, db: Db, providers: Providers): TaskQueueWorker[] {
  return [
    {
      taskQueue: RETENTION_TASK_QUEUE,
      activities: createRetentionActivities(retentionActivityDeps(config, db, providers.storage)),
    },
    {
      taskQueue: ASSETS_TASK_QUEUE,
      activities: createAssetActivities({
        db,
        ...providers,
        buckets: { uploads: config.S3_BUCKET_UPLOADS, private: config.S3_BUCKET_PRIVATE, quarantine: config.S3_BUCKET_QUARANTINE },
        converterMaxAttempts: config.CONVERTER_MAX_ATTEMPTS,
      }),
    },
    {
      taskQueue: PAYMENTS_TASK_QUEUE,
      activities: createPaymentActivities({ db, stripe: providers.stripe }),
    },
    {
      taskQueue: RELEASES_TASK_QUEUE,
      activities: createReleaseActivities({
        db,
        changeFreeze: {
          cron: config.RELEASE_CHANGE_FREEZE_CRON,
          timezone: config.RELEASE_CHANGE_FREEZE_TIMEZONE,
          durationMinutes: config.RELEASE_CHANGE_FREEZE_DURATION_MINUTES,
        },
      }),
    },
    {
      taskQueue: TELEMETRY_TASK_QUEUE,
      activities: createTelemetryActivities({
        db,
        storage: providers.storage,
        exports: {
          bucket: config.TELEMETRY_EXPORT_BUCKET,
          prefix: config.TELEMETRY_EXPORT_PREFIX,
          compress: config.TELEMETRY_EXPORT_COMPRESS,
          lineageTool: config.TELEMETRY_LINEAGE_TOOL,
        },
      }),
    },
    {
      taskQueue: NOTIFICATIONS_TASK_QUEUE,
      activities: createNotificationActivities({ db, ...notificationSettings(config) }),
    },
  ];
}
