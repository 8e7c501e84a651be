import { createAssetActivities } from '../activities/assets';
import type { Config } from '../lib/config';
import type { Db } from '../lib/db';
import type { Providers } from '../providers';
import { ASSETS_TASK_QUEUE } from '../workflows/assetConversion.contract';

export interface TaskQueueWorker {
  taskQueue: string;
  activities: object;
}

/** One task queue per domain, each with the activities of that domain. */
export function taskQueueWorkers(config: Config, db: Db, providers: Providers): TaskQueueWorker[] {
  return [
    {
      taskQueue: ASSETS_TASK_QUEUE,
      activities: createAssetActivities({
        db,
        ...providers,
        buckets: { uploads: config.S3_BUCKET_UPLOADS, private: config.S3_BUCKET_PRIVATE, quarantine: config.S3_BUCKET_QUARANTINE },
      }),
    },
  ];
}
