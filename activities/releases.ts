// Activities of the release readiness process: they record what the workflow decided
// and compute change-freeze overlaps (cron parsing needs a library, so it runs here,
// never in the workflow). The writes live in the releases service; each is safe to repeat.
import { ApplicationFailure } from '@temporalio/activity';
import type { Db } from '../lib/db';
import * as releases from '../services/releases';
import type { ChangeFreeze, ChangeWindow, ReleaseStateSnapshot } from '../services/releases';
import type { ReleaseWarning } from '../schemas/releases';
import { failingRun } from './context';

export type { ChangeFreeze, ChangeWindow, ReleaseStateSnapshot } from '../services/releases';

export interface ReleaseActivityDeps {
  db: Db;
  changeFreeze: ChangeFreeze;
}

/** The freeze windows overlapping the change window; a cron that cannot be parsed fails the run for good. */
export function changeFreezeOverlaps(window: ChangeWindow, freeze: ChangeFreeze): ReleaseWarning[] {
  try {
    return releases.changeFreezeOverlaps(window, freeze);
  } catch (err) {
    if (err instanceof releases.InvalidChangeFreezeError) throw ApplicationFailure.nonRetryable(err.message, 'InvalidChangeFreeze');
    throw err;
  }
}

export function createReleaseActivities({ db, changeFreeze }: ReleaseActivityDeps) {
  /** Records the freeze warnings of the run's change window (reopening a run that failed before, for its replay). */
  async function openRelease(publicId: string, window: ChangeWindow): Promise<ReleaseWarning[]> {
    await releases.reopenFailedRelease(db, publicId);
    const warnings = changeFreezeOverlaps(window, changeFreeze);
    if (!(await releases.recordWarnings(db, publicId, warnings))) {
      throw ApplicationFailure.nonRetryable(`release run ${publicId} does not exist`, 'ReleaseNotFound');
    }
    return warnings;
  }

  async function recordReleaseState(snapshot: ReleaseStateSnapshot): Promise<void> {
    await releases.recordReleaseState(db, snapshot);
  }

  async function closeRelease(publicId: string, status: 'approved' | 'expired'): Promise<void> {
    await releases.closeRelease(db, publicId, { status });
  }

  async function failRelease(publicId: string, reason: string): Promise<void> {
    await releases.closeRelease(db, publicId, { status: 'failed', reason, failedRun: failingRun(reason) });
  }

  return { openRelease, recordReleaseState, closeRelease, failRelease };
}

export type ReleaseActivities = ReturnType<typeof createReleaseActivities>;
