// Readiness (GET /ready): each dependency probed with a timeout, the answer cached for a few seconds so
// that probes cannot load the database, and details that say nothing secret.
import { pendingMigrations, type Db } from '../lib/db';
import { withTimeout } from '../lib/timeout';

export interface Check {
  ok: boolean;
  detail: string;
}

type CheckName = 'database' | 'migrations' | 'temporal' | 'storage' | 'scanner' | 'stripe';
/** Reported, but the API does not need them: only payments use Stripe, only workers scan. */
const REPORTED_ONLY: ReadonlySet<CheckName> = new Set(['stripe', 'scanner']);

/** What readiness asks of each dependency: a short, non-secret detail, or an error saying why not. */
export type ReadinessProbes = Record<CheckName, () => Promise<string>>;

export interface Readiness {
  ready: boolean;
  checks: Record<CheckName, Check>;
}

const CHECK_TIMEOUT_MS = 3000;
/** How long one answer serves every probe. */
export const READINESS_CACHE_MS = 5000;

async function check(what: string, probe: () => Promise<string>): Promise<Check> {
  try {
    return { ok: true, detail: await withTimeout(probe(), CHECK_TIMEOUT_MS, what) };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

/** The database's two probes: it answers, and its schema is current. */
export function databaseProbes(db: Db): Pick<ReadinessProbes, 'database' | 'migrations'> {
  return {
    database: async () => {
      await db.raw('select 1');
      return 'connected';
    },
    migrations: async () => {
      const pending = await pendingMigrations(db);
      if (pending.length > 0) throw new Error(`pending: ${pending.join(', ')}`);
      return 'current';
    },
  };
}

async function probeAll(probes: ReadinessProbes): Promise<Readiness> {
  const names = Object.keys(probes) as CheckName[];
  const results = await Promise.all(names.map((name) => check(name, probes[name])));
  const checks = Object.fromEntries(names.map((name, i) => [name, results[i]])) as Readiness['checks'];
  const ready = names.every((name) => REPORTED_ONLY.has(name) || checks[name].ok);
  return { ready, checks };
}

/** A readiness check whose answer is shared for READINESS_CACHE_MS (and by concurrent callers). */
export function cachedReadiness(probes: ReadinessProbes, now: () => number = Date.now): () => Promise<Readiness> {
  let cached: { at: number; answer: Promise<Readiness> } | undefined;
  return () => {
    if (!cached || now() - cached.at >= READINESS_CACHE_MS) cached = { at: now(), answer: probeAll(probes) };
    return cached.answer;
  };
}
