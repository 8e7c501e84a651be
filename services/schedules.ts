// Operators' schedule actions (trigger, pause, unpause), each between a pending audit row and
// its outcome. Temporal is reached through the caller's ScheduleControl.
import type { Db } from '../lib/db';
import type { ScheduleView } from '../schemas/runs';
import { audited, type AuditContext } from './audit';

/** The schedules of a cluster, as the caller reaches them (the API: its typed schedules client). */
export interface ScheduleControl {
  trigger(scheduleId: string): Promise<void>;
  /** Pauses or resumes with a note; answers the schedule as it is now. */
  setPaused(scheduleId: string, paused: boolean, note: string): Promise<ScheduleView>;
}

export interface ScheduleActionRequest {
  reason: string | null;
  by: AuditContext;
}

const scheduleTarget = (scheduleId: string) => `schedule:${scheduleId}`;

/** Starts the scheduled workflow now; answers when it was asked. */
export async function triggerScheduleNow(db: Db, schedules: ScheduleControl, scheduleId: string, request: ScheduleActionRequest) {
  const entry = { ...request.by, action: 'schedule.trigger', target: scheduleTarget(scheduleId), reason: request.reason };
  await audited(db, entry, () => schedules.trigger(scheduleId));
  return { scheduleId, triggeredAt: new Date().toISOString() };
}

/** Pauses or resumes a schedule, noting who did it (and why) on the schedule itself too. */
export async function changeSchedulePause(
  db: Db,
  schedules: ScheduleControl,
  scheduleId: string,
  paused: boolean,
  request: ScheduleActionRequest,
): Promise<ScheduleView> {
  const action = paused ? 'schedule.pause' : 'schedule.unpause';
  const note = `${paused ? 'paused' : 'unpaused'} by ${request.by.actor.sub}${request.reason ? `: ${request.reason}` : ''}`;
  const entry = { ...request.by, action, target: scheduleTarget(scheduleId), reason: request.reason, after: { paused } };
  return audited(db, entry, () => schedules.setPaused(scheduleId, paused, note));
}
