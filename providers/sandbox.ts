// Runs converter tools (LibreOffice, poppler) on untrusted files inside bubblewrap:
// no network, no platform secrets, nothing of the host's file system but the
// read-only system directories and the files of this one conversion.
import { access, constants, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ConversionError } from './conversionError';
import { runProcess, type RunOptions, type RunResult } from './runProcess';

export interface SandboxLimits {
  /** Address-space limit of the tool and its children, in MiB. */
  memoryMb: number;
  /** CPU-time limit of the tool and each child, in seconds. */
  cpuSeconds: number;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = { memoryMb: 4096, cpuSeconds: 120 };

export interface SandboxedRun extends Omit<RunOptions, 'env'> {
  limits: SandboxLimits;
  /** Host directory mounted read-write at `path` inside (the conversion's work dir). */
  workDir?: { host: string; path: string };
  /** Host files mounted read-only at their `path` inside (the tool's input). */
  inputs?: Array<{ host: string; path: string }>;
}

const BWRAP_BIN = 'bwrap';
const PRLIMIT_BIN = '/usr/bin/prlimit';
const SANDBOX_PATH = '/usr/local/bin:/usr/bin:/bin';
/** What dynamically linked tools, fontconfig and LibreOffice read; all read-only. */
const SYSTEM_READ_ONLY = ['/usr', '/etc/fonts', '/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/ld.so.conf.d', '/etc/libreoffice', '/etc/alternatives', '/etc/localtime', '/opt'];
/** Merged-/usr systems link these into /usr; older layouts have real directories. */
const ROOT_LINKS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/**
 * Runs `bin` with its own empty network namespace (no interface but a down
 * loopback), PID/IPC/UTS namespaces, a cleared environment, a private /tmp
 * and address-space and CPU-time limits. The tool dies with its caller.
 */
export async function runSandboxed(bin: string, args: string[], run: SandboxedRun): Promise<RunResult> {
  const tool = path.basename(bin);
  const binary = await resolveExecutable(bin);
  if (!binary) throw new ConversionError(`${tool}: could not start`, 'tool_missing', { detail: `${bin} not found` });
  const sandbox = [
    ...(await isolationArgs()),
    ...(run.workDir ? ['--bind', run.workDir.host, run.workDir.path, '--chdir', run.workDir.path] : []),
    ...(run.inputs ?? []).flatMap((input) => ['--ro-bind', input.host, input.path]),
    '--',
    PRLIMIT_BIN,
    `--as=${run.limits.memoryMb * 1024 * 1024}`,
    `--cpu=${run.limits.cpuSeconds}`,
    '--',
    binary,
    ...args,
  ];
  // bwrap itself gets no secrets either: only what it needs to find itself.
  return runProcess(BWRAP_BIN, sandbox, { ...run, env: { PATH: process.env.PATH ?? SANDBOX_PATH },
    toolName: tool,
    isLauncherFailure: (stderr) => /^(bwrap|prlimit):/m.test(stderr),
  });
}

async function isolationArgs(): Promise<string[]> {
  const args = [
    '--unshare-net',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--die-with-parent',
    '--new-session',
    '--clearenv',
    '--setenv', 'HOME', '/tmp',
    '--setenv', 'PATH', SANDBOX_PATH,
    '--setenv', 'LANG', 'C.UTF-8',
    '--proc', '/proc',
    '--dev', '/dev',
    '--tmpfs', '/tmp',
  ];
  for (const dir of SYSTEM_READ_ONLY) args.push('--ro-bind-try', dir, dir);
  for (const link of ROOT_LINKS) args.push(...(await rootEntryArgs(link)));
  return args;
}

async function rootEntryArgs(entry: string): Promise<string[]> {
  const target = await realpath(entry).catch(() => undefined);
  if (target === undefined) return [];
  return target === entry ? ['--ro-bind', entry, entry] : ['--symlink', target, entry];
}

/** The absolute path of `bin` (searched in PATH when it has no slash), or undefined. */
async function resolveExecutable(bin: string): Promise<string | undefined> {
  const candidates = bin.includes('/')
    ? [path.resolve(bin)]
    : (process.env.PATH ?? SANDBOX_PATH).split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, bin));
  for (const candidate of candidates) {
    if (await access(candidate, constants.X_OK).then(() => true, () => false)) return candidate;
  }
  return undefined;
}
