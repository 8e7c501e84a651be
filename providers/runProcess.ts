import { spawn } from 'node:child_process';
import path from 'node:path';
import { ConversionError } from './conversionError';

export interface RunOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Keep at most this much stdout; reaching it stops the tool early and counts as success. */
  maxStdoutBytes?: number;
  env?: NodeJS.ProcessEnv;
  /** Name in error messages when `bin` is a launcher (the sandbox) rather than the tool. */
  toolName?: string;
  /** Tells from stderr that the launcher, not the tool, failed: retryable, never bad content. */
  isLauncherFailure?: (stderr: string) => boolean;
}

export interface RunResult {
  stdout: Buffer;
  stderr: string;
  truncated: boolean;
}

const STDERR_TAIL_BYTES = 4096;
const DEFAULT_MAX_STDOUT_BYTES = 64 * 1024 * 1024;

type StopReason = 'timeout' | 'aborted' | 'truncated';

/**
 * Runs a tool with a hard deadline. The tool gets its own process group so a
 * kill also reaches its children (soffice is a launcher for soffice.bin).
 */
export function runProcess(bin: string, args: string[], options: RunOptions): Promise<RunResult> {
  const maxStdout = options.maxStdoutBytes ?? DEFAULT_MAX_STDOUT_BYTES;
  const tool = options.toolName ?? path.basename(bin);

  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) return reject(new ConversionError(`${tool}: aborted`, 'aborted'));

    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: options.env });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = '';
    let stopReason: StopReason | undefined;

    const stop = (reason: StopReason) => {
      stopReason ??= reason;
      killGroup(child.pid);
    };
    const timer = setTimeout(() => stop('timeout'), options.timeoutMs);
    const onAbort = () => stop('aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (chunk: Buffer) => {
      if (stopReason) return;
      const room = maxStdout - stdoutBytes;
      stdout.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      stdoutBytes += Math.min(chunk.length, room);
      if (chunk.length >= room) stop('truncated');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });

    const finish = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      finish();
      const reason = err.code === 'ENOENT' ? 'tool_missing' : 'tool_crashed';
      reject(new ConversionError(`${tool}: could not start`, reason, { cause: err, detail: err.message }));
    });
    child.on('close', (code, signal) => {
      finish();
      const result = { stdout: Buffer.concat(stdout), stderr: stderr.trim(), truncated: stopReason === 'truncated' };
      if (stopReason === 'timeout') {
        reject(new ConversionError(`${tool}: timed out after ${options.timeoutMs} ms`, 'timeout'));
      } else if (stopReason === 'aborted') {
        reject(new ConversionError(`${tool}: aborted`, 'aborted'));
      } else if (stopReason === 'truncated' || code === 0) {
        resolve(result);
      } else if (options.isLauncherFailure?.(result.stderr)) {
        reject(new ConversionError(`${tool}: could not be launched`, 'tool_crashed', { detail: result.stderr }));
      } else if (signal) {
        // Killed from outside (e.g. the OOM killer): another attempt may succeed.
        reject(new ConversionError(`${tool}: killed by ${signal}`, 'tool_crashed', { detail: result.stderr || undefined }));
      } else {
        // The tools are deterministic: a non-zero exit means this input is unusable.
        reject(new ConversionError(`${tool}: exited with ${code}`, 'corrupt_input', { detail: result.stderr || undefined }));
      }
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // The group is already gone.
  }
}
