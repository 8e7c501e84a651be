import type { Client } from '@temporalio/client';
import type { Config } from '../lib/config';
import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import type { ApiMetrics } from '../lib/metrics';
import type { Storage } from '../providers/storage';
import type { SearchIndex } from '../providers/search';
import type { RateLimiter } from './middleware/rateLimit';

/** Everything a route handler may use; tests build it with their own database, bucket or client. */
export interface AppDeps {
  config: Config;
  db: Db;
  temporal: Client;
  storage: Storage;
  search: SearchIndex;
  metrics: ApiMetrics;
  logger: Logger;
  rateLimiter: RateLimiter;
}
