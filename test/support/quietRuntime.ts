// What every test process sets up first, servers or not: quiet logs and the one SDK runtime.
import { logger } from '../../lib/logger';
import { installRuntime } from '../../workers/runtime';

logger.level = process.env.TEST_LOG_LEVEL ?? 'warn';

/** Installs the SDK runtime (winston logging); once per process, before any worker or test server. */
export function installTestRuntime(): void {
  installRuntime(logger);
}
