// What a release run's workflow decided, recorded: its change-freeze warnings, each
// state its evaluations lead to, and how it closed. Each write is safe to repeat.
import { CronExpressionParser } from 'cron-parser';
import { ReleaseRun } from '../../db/models/ReleaseRun';
import type { Knex } from 'knex';
import type { Db } from '../../lib/db';
import { recordOutboxEvent, reportRunFailed, type FailedRun } from '../notifications/outbox';
import { releaseView } from './runs';
import {
  OPEN_RELEASE_STATUSES,
  type GateState,
  type RecordedEvaluation,
  type ReleaseStatus,
  type ReleaseWarning,
} from '../../schemas/releases';

export interface ChangeFreeze {
  /** Start of each freeze window (cron expression in `timezone`). */
  cron: string;
  timezone: string;
  durationMinutes: number;
}

export interface ChangeWindow {
  start: string;
  end: string;
}

export interface ReleaseStateSnapshot {
  publicId: string;
  revision: number;
  status: ReleaseStatus;
  readinessScore: number;
  gates: GateState[];
  evaluations: RecordedEvaluation[];
}

export class InvalidChangeFreezeError extends Error {}

/** A window of a year against a per-minute cron would list thousands; the first few say enough. */
const MAX_FREEZE_WARNINGS = 10;

/** One warning per freeze window (a cron occurrence plus its duration) that overlaps the change window. */
export function changeFreezeOverlaps(window: ChangeWindow, freeze: ChangeFreeze): ReleaseWarning[] {
  const start = Date.parse(window.start);
  const end = Date.parse(window.end);
  const durationMs = freeze.durationMinutes * 60_000;
  let occurrences;
  try {
    // A freeze overlaps when it starts before the window ends and ends after the window starts.
    occurrences = CronExpressionParser.parse(freeze.cron, { tz: freeze.timezone, currentDate: new Date(start - durationMs) });
  } catch (err) {
    throw new InvalidChangeFreezeError(`RELEASE_CHANGE_FREEZE_CRON cannot be parsed: ${(err as Error).message}`);
  }
  const warnings: ReleaseWarning[] = [];
  while (warnings.length < MAX_FREEZE_WARNINGS) {
    const freezeStart = occurrences.next().getTime();
    if (freezeStart >= end) break;
    if (freezeStart + durationMs <= start) continue;
    const from = new Date(freezeStart).toISOString();
    const to = new Date(freezeStart + durationMs).toISOString();
    warnings.push({
      code: 'CHANGE_FREEZE_OVERLAP',
      message: `the change window overlaps the change freeze from ${from} to ${to} ("${freeze.cron}" in ${freeze.timezone})`,
      freezeStart: from,
      freezeEnd: to,
    });
  }
  return warnings;
}

/**
 * A run replayed after an infrastructure failure finds its record `failed` and opens it
 * again: the replay re-applies the same evaluations in the same order, so their sequence
 * numbers match the rows already written (which are kept once) and the revisions restart.
 */
export async function reopenFailedRelease(db: Db, publicId: string): Promise<void> {
  await ReleaseRun.query(db)
    .findById(publicId)
    .where('status', 'failed')
    .patch({ status: 'pending', closedStatus: null, failureReason: null, closedAt: null, revision: 0, updatedAt: new Date() } as Partial<ReleaseRun>);
}

/** False when the run does not exist. */
export async function recordWarnings(db: Db, publicId: string, warnings: ReleaseWarning[]): Promise<boolean> {
  const updated = await ReleaseRun.query(db)
    .findById(publicId)
    .patch({ warnings, updatedAt: new Date() } as Partial<ReleaseRun>);
  return updated > 0;
}

/**
 * Appends the evaluations (once each, by their sequence number) and writes the state
 * they lead to, unless a newer revision was already written by a concurrent update.
 */
export async function recordReleaseState(db: Db, snapshot: ReleaseStateSnapshot): Promise<void> {
  await db.transaction(async (trx) => {
    if (snapshot.evaluations.length > 0) {
      // Plain knex: with some rows already there (a retry, a replay) Objection cannot map the fewer rows returned.
      await trx('release_gate_evaluations')
        .insert(snapshot.evaluations.map((e) => ({ ...e, metrics: e.metrics ? JSON.stringify(e.metrics) : null, releaseRunId: snapshot.publicId })))
        .onConflict(['release_run_id', 'seq'])
        .ignore();
    }
    const before = await ReleaseRun.query(trx).findById(snapshot.publicId).forUpdate();
    const moved = await ReleaseRun.query(trx)
      .findById(snapshot.publicId)
      .where('revision', '<', snapshot.revision)
      .whereIn('status', OPEN_RELEASE_STATUSES)
      .patch({
        status: snapshot.status,
        readinessScore: snapshot.readinessScore,
        gates: snapshot.gates,
        revision: snapshot.revision,
        updatedAt: new Date(),
      } as Partial<ReleaseRun>);
    if (moved > 0 && snapshot.status === 'ready' && before?.status !== 'ready') await reportRelease(trx, snapshot.publicId, 'release.ready');
  });
}

/** The release's event, with its GET body as it is in this transaction. */
async function reportRelease(trx: Knex.Transaction, publicId: string, type: 'release.ready' | 'release.approved' | 'release.expired'): Promise<void> {
  await recordOutboxEvent(trx, type, { release: await releaseView(trx, publicId) });
}

/** Closes an open run: approved or expired at its window start, or failed with why. */
export async function closeRelease(
  db: Db,
  publicId: string,
  close: { status: 'approved' | 'expired' } | { status: 'failed'; reason: string; failedRun: FailedRun },
) {
  const failureReason = close.status === 'failed' ? { failureReason: close.reason } : {};
  await db.transaction(async (trx) => {
    const moved = await ReleaseRun.query(trx)
      .findById(publicId)
      .whereIn('status', OPEN_RELEASE_STATUSES)
      .patch({ status: close.status, closedStatus: close.status, ...failureReason, closedAt: new Date(), updatedAt: new Date() });
    if (close.status === 'failed') await reportRunFailed(trx, close.failedRun);
    else if (moved > 0) await reportRelease(trx, publicId, `release.${close.status}`);
  });
}
