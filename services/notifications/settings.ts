import type { Config } from '../../lib/config';
import type { UrlRules } from './urls';

export interface NotificationSettings {
  secretKey: Buffer;
  urlRules: UrlRules;
  retryScheduleSeconds: number[];
}

/** The notification settings, read from the validated configuration. */
export function notificationSettings(config: Config): NotificationSettings {
  return {
    secretKey: Buffer.from(config.WEBHOOK_SECRET_KEY, 'base64'),
    urlRules: { production: config.NODE_ENV === 'production', allowedHttpHosts: config.WEBHOOK_ALLOWED_HTTP_HOSTS },
    retryScheduleSeconds: [...config.WEBHOOK_RETRY_SCHEDULE_SECONDS],
  };
}
