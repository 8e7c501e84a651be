// What every test process sets up first, servers or not: quiet logs and the one SDK runtime.
import { logger } from '../../lib/logger';
import { installRuntime } from '../../workers/runtime';

/** Logs at TEST_LOG_LEVEL, else at `level`. */
export function quietLogs(level: string): void {
  logger.level = process.env.TEST_LOG_LEVEL ?? level;
}

/** Installs the SDK runtime (winston logging); once per process, before any worker or test server. */
export function installTestRuntime(): void {
  installRuntime(logger);
}
