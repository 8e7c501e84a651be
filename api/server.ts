// The API process: validated config, one pool, one Temporal client, graceful stop.
import { loadConfigOrExit } from '../lib/config';
import { createDb } from '../lib/db';
import { logger } from '../lib/logger';
import { createApiMetrics } from '../lib/metrics';
import { registerDomainGauges } from './domainMetrics';
import { connectClient } from '../lib/temporal';
import { createSearchIndex, createStorageFromConfig } from '../providers';
import { createApp } from './app';
import type { AppDeps } from './deps';
import { RateLimiter } from './middleware/rateLimit';

export async function buildDeps(): Promise<AppDeps> {
  const config = loadConfigOrExit();
  logger.level = config.LOG_LEVEL;
  const db = createDb(config);
  const metrics = registerDomainGauges(createApiMetrics(), db);
  return {
    config,
    db,
    temporal: await connectClient(config),
    storage: createStorageFromConfig(config),
    search: createSearchIndex(config, db),
    metrics,
    logger,
    rateLimiter: new RateLimiter(config),
  };
}

async function main(): Promise<void> {
  const deps = await buildDeps();
  const { config } = deps;
  const server = createApp(deps).listen(config.PORT, config.HOST, () => {
    logger.info('api listening', { url: `http://${config.HOST}:${config.PORT}` });
  });
  const stop = (signal: string) => {
    logger.info('api stopping', { signal });
    // Once the last request is answered: release the Temporal connection and the pool, then exit
    // (1 when releasing fails, as the unhandled rejection did before).
    const release = async () => {
      await deps.temporal.connection.close();
      await deps.db.destroy();
    };
    server.close(() => {
      release().then(
        () => process.exit(0),
        (err: unknown) => {
          logger.error('api stop failed', { err });
          process.exit(1);
        },
      );
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(1), 10000).unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) {
  main().catch((err: Error) => {
    logger.error('api failed to start', { err });
    process.exit(1);
  });
}
