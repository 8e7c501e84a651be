// Root hooks: quiet logs, one SDK runtime, the schema migrated, and every
// shared connection closed at the end.
import type { RootHookObject } from 'mocha';
import { logger } from '../../lib/logger';
import { installRuntime } from '../../workers/runtime';
import { closeShared, shared } from './shared';

logger.level = process.env.TEST_LOG_LEVEL ?? 'warn';

export const mochaHooks: RootHookObject = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(120000);
    installRuntime(logger);
    await shared().db.migrate.latest();
  },
  async afterAll() {
    await closeShared();
  },
};
