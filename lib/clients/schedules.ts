// Schedules as operators see and steer them: listed with their next runs, triggered,
// paused and resumed. Which schedules exist, and their sync, is lib/schedules.ts.
import { ScheduleNotFoundError, type Client, type ScheduleDescription, type ScheduleHandle } from '@temporalio/client';
import { notFound } from '../errors';
import type { ScheduleDefinition } from '../schedules';
import type { ScheduleView } from '../../schemas/runs';
import { withDeadline } from './calls';

const NEXT_RUNS_SHOWN = 5;

function viewOf(definitions: ScheduleDefinition[], d: ScheduleDescription): ScheduleView {
  const definition = definitions.find((s) => s.id === d.scheduleId);
  const last = d.info.recentActions.at(-1);
  return {
    id: d.scheduleId,
    workflowType: d.action.type === 'startWorkflow' ? d.action.workflowType : 'unknown',
    spec: { cron: definition?.cron ?? null },
    timezone: d.spec.timezone ?? 'UTC',
    paused: d.state.paused,
    note: d.state.note ?? null,
    nextRunAt: d.info.nextActionTimes.slice(0, NEXT_RUNS_SHOWN).map((t) => t.toISOString()),
    lastRun: last
      ? {
          workflowId: last.action.workflow.workflowId,
          runId: last.action.workflow.firstExecutionRunId,
          scheduledAt: last.scheduledAt.toISOString(),
          startedAt: last.takenAt.toISOString(),
        }
      : null,
  };
}

async function describeSchedule(handle: ScheduleHandle): Promise<ScheduleDescription> {
  try {
    return await handle.describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw notFound('schedule');
    throw err;
  }
}

/** Every schedule in Temporal, by id; `definitions` name the cron each was registered with. */
export function listSchedules(client: Client, definitions: ScheduleDefinition[]): Promise<ScheduleView[]> {
  return withDeadline(client, async () => {
    const items: ScheduleView[] = [];
    for await (const summary of client.schedule.list()) {
      items.push(viewOf(definitions, await describeSchedule(client.schedule.getHandle(summary.scheduleId))));
    }
    return items.sort((a, b) => a.id.localeCompare(b.id));
  });
}

/** Starts the scheduled workflow now (the schedule's overlap policy applies); 404 for an unknown schedule. */
export function triggerSchedule(client: Client, scheduleId: string): Promise<void> {
  return withDeadline(client, async () => {
    const handle = client.schedule.getHandle(scheduleId);
    await describeSchedule(handle);
    await handle.trigger();
  });
}

/** Pauses or resumes a schedule with a note saying who did it, and answers it as it is now; 404 for an unknown schedule. */
export function setSchedulePaused(
  client: Client,
  scheduleId: string,
  paused: boolean,
  note: string,
  definitions: ScheduleDefinition[],
): Promise<ScheduleView> {
  return withDeadline(client, async () => {
    const handle = client.schedule.getHandle(scheduleId);
    await describeSchedule(handle);
    await (paused ? handle.pause(note) : handle.unpause(note));
    return viewOf(definitions, await describeSchedule(handle));
  });
}
