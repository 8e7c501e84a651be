// The progress stream of a run (SPEC §4.7): who may follow which run, and the Server-Sent
// Events it answers — the current progress, each change, then `end` with the final status.
import { PassThrough, type Readable } from 'node:stream';
import { Asset } from '../db/models/Asset';
import { Payment } from '../db/models/Payment';
import type { Db } from '../lib/db';
import type { Progress } from '../schemas/common';
import type { Role } from '../schemas/common';
import type { Static } from '@sinclair/typebox';

type ProgressView = Static<typeof Progress>;

export interface Follower {
  sub: string;
  roles: readonly Role[];
}

export interface RunState {
  status: string;
  progress: ProgressView | null;
}

const STAFF: readonly Role[] = ['operator', 'support', 'admin'];
const has = (who: Follower, roles: readonly Role[]) => who.roles.some((r) => roles.includes(r));

/** Operators, support and admins follow any run; others the runs of a resource they may read. */
export async function mayFollowRun(db: Db, who: Follower, workflowId: string): Promise<boolean> {
  if (has(who, STAFF)) return true;
  const [kind, key] = workflowId.split(':');
  if (!key) return false;
  if (kind === 'asset-conversion') {
    const asset = await Asset.query(db).findById(key);
    // Any signed-in role reads an asset; learners only a ready one.
    return Boolean(asset) && (who.roles.some((r) => r !== 'learner') || asset?.status === 'ready');
  }
  if (kind === 'payment' || kind === 'refund') {
    if (has(who, ['finance'])) return true;
    const payment = await Payment.query(db).findById(key).catch(() => undefined);
    return payment?.customerId === who.sub;
  }
  return false;
}

export interface StreamLimits {
  pollMs: number;
  heartbeatMs: number;
  maxMs: number;
}

export const STREAM_LIMITS: StreamLimits = { pollMs: 500, heartbeatMs: 15_000, maxMs: 15 * 60_000 };
/** How long a client waits before reconnecting after a stream hit its time limit. */
const RECONNECT_MS = 1000;

const frame = (id: number, event: string, data: unknown) => `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * The event stream from `first` on: progress frames as it changes (polled), then `end`.
 * `onClose` runs once, however the stream ends (the run ended, the limit, the client left).
 */
export function progressStream(first: RunState, poll: () => Promise<RunState | null>, limits: StreamLimits, onClose: () => void): Readable {
  const out = new PassThrough();
  let seq = 0;
  let last = '';
  let closed = false;
  const timers: NodeJS.Timeout[] = [];
  const close = (tail = '') => {
    if (closed) return;
    closed = true;
    timers.forEach(clearTimeout);
    timers.forEach(clearInterval);
    out.end(tail);
    onClose();
  };
  const emit = (state: RunState) => {
    const shown = JSON.stringify(state.progress);
    if (state.progress && shown !== last) out.write(frame((seq += 1), 'progress', state.progress));
    last = shown;
    if (state.status !== 'Running') close(frame((seq += 1), 'end', { status: state.status }));
  };
  const tick = async () => {
    const state = await poll().catch(() => null);
    if (closed) return;
    if (state) emit(state);
    if (!closed) timers.push(setTimeout(() => void tick(), limits.pollMs));
  };
  out.on('close', () => close());
  emit(first);
  if (!closed) {
    timers.push(setInterval(() => out.write(': heartbeat\n\n'), limits.heartbeatMs));
    timers.push(setTimeout(() => close(`retry: ${RECONNECT_MS}\n\n`), limits.maxMs));
    timers.push(setTimeout(() => void tick(), limits.pollMs));
  }
  return out;
}

/** At most `max` open streams per principal, in this API process. */
export class StreamSlots {
  private readonly open = new Map<string, number>();
  constructor(private readonly max: number) {}

  take(sub: string): boolean {
    const n = this.open.get(sub) ?? 0;
    if (n >= this.max) return false;
    this.open.set(sub, n + 1);
    return true;
  }

  release(sub: string): void {
    const n = (this.open.get(sub) ?? 1) - 1;
    if (n <= 0) this.open.delete(sub);
    else this.open.set(sub, n);
  }
}
