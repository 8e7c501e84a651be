import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker';
import type { Logger } from '../lib/logger';

const LEVELS: Record<string, string> = { TRACE: 'debug', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/** SDK logs go through winston; activity logs name their workflow, run and activity type. */
function forwardTo(logger: Logger) {
  return (entry: LogEntry) => {
    const { workflowRunId, taskToken: _taskToken, ...meta } = (entry.meta ?? {}) as Record<string, unknown>;
    logger.log(LEVELS[entry.level] ?? 'info', entry.message, { ...meta, ...(workflowRunId ? { runId: workflowRunId } : {}) });
  };
}

/** An SDK logger writing into winston, e.g. for the workflow bundler (which is chatty at INFO). */
export const sdkLogger = (logger: Logger, level: 'INFO' | 'WARN' = 'INFO') => new DefaultLogger(level, forwardTo(logger));

/**
 * Installs the SDK runtime once per process: winston logging and, when a port
 * is given, the SDK's Prometheus metrics on 127.0.0.1:<port>.
 */
export function installRuntime(logger: Logger, metricsPort?: number): void {
  Runtime.install({
    logger: sdkLogger(logger),
    telemetryOptions: metricsPort ? { metrics: { prometheus: { bindAddress: `127.0.0.1:${metricsPort}` } } } : undefined,
  });
}
