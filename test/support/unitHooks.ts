// Root hooks of the unit suite (`npm run test:unit`, SPEC §6): no server is reached, so nothing
// is migrated; quiet logs and one SDK runtime, and whatever a test opened is closed at the end.
import type { RootHookObject } from 'mocha';
import { installTestRuntime, quietLogs } from './quietRuntime';
import { closeShared } from './shared';

// The workflow tests make activities fail on purpose; the SDK would log each attempt as a warning.
quietLogs('error');

export const mochaHooks: RootHookObject = {
  beforeAll() {
    installTestRuntime();
  },
  async afterAll() {
    await closeShared();
  },
};
