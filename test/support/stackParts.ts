// Crashing a part of the embedded stack (SPEC §2) and bringing it back, as an operator would:
// SIGKILL the process in .data/run/<part>.pid (for Postgres the postmaster), then
// `scripts/stack.sh start <part>`, which must succeed on the first try. When `make test` or `make chaos`
// runs the suite, the restarted part is recorded in its list (STACK_RECORD_FILE), so it is stopped at
// the end like the parts it started itself.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from './wait';

export type StackPart = 'postgres' | 'temporal' | 's3' | 'stripe' | 'clamd';

// The stack's own checkout (its .data/run pid files and scripts/stack.sh); from another worktree sharing
// a running stack, STACK_ROOT names it.
const ROOT = process.env.STACK_ROOT ? path.resolve(process.env.STACK_ROOT) : path.resolve(__dirname, '../..');
const pidFile = (part: StackPart) => path.join(ROOT, '.data/run', `${part}.pid`);

function runningPid(part: StackPart): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile(part), 'utf8').trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Why this part cannot be crashed here (not started by the stack runner), or undefined. */
export function notCrashable(part: StackPart): string | undefined {
  return runningPid(part) ? undefined : `${part} was not started by scripts/stack.sh here (no live .data/run/${part}.pid)`;
}

const gone = (pid: number) => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

export function startPart(part: StackPart): Promise<void> {
  const record = process.env.STACK_RECORD_FILE;
  const args = ['start', ...(record ? ['--record', record] : []), part];
  return new Promise((resolve, reject) =>
    execFile(path.join(ROOT, 'scripts/stack.sh'), args, { cwd: ROOT, timeout: 180_000 }, (err, _stdout, stderr) =>
      err ? reject(new Error(`scripts/stack.sh start ${part} failed on the first try: ${stderr.slice(-2000)}`)) : resolve(),
    ),
  );
}

/** SIGKILLs the part; resolves once its process is gone (it stays down until `startPart`). */
export async function killPart(part: StackPart): Promise<void> {
  const pid = runningPid(part);
  if (!pid) throw new Error(notCrashable(part));
  process.kill(pid, 'SIGKILL');
  await waitFor(`${part} (pid ${pid}) to die`, async () => (gone(pid) || (await zombie(pid)) ? true : undefined), 30_000);
}

async function zombie(pid: number): Promise<boolean> {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? false;
  } catch {
    return true;
  }
}

/** SIGKILL, then start again; answers how long the part was away (kill to healthy), in ms. */
export async function crashAndRestart(part: StackPart, whileDown: () => Promise<void> = async () => undefined): Promise<number> {
  const started = Date.now();
  await killPart(part);
  await whileDown();
  await startPart(part);
  return Date.now() - started;
}
