// Root hooks of the full suite (`npm test`): quiet logs, one SDK runtime, the schema migrated,
// and every shared connection closed at the end.
import type { RootHookObject } from 'mocha';
import { installTestRuntime, quietLogs } from './quietRuntime';
import { closeShared, shared } from './shared';

quietLogs('warn');

export const mochaHooks: RootHookObject = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(120000);
    installTestRuntime();
    await shared().db.migrate.latest();
  },
  async afterAll() {
    await closeShared();
  },
};
