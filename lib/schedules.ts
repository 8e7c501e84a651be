// Every Temporal Schedule of the platform, listed in one place and created or
// updated idempotently when a worker starts: schedules replace cron jobs.
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
} from '@temporalio/client';
import type { Config } from './config';
import { runSearchAttributes } from './temporal';

export interface ScheduleDefinition {
  id: string;
  workflowType: string;
  taskQueue: string;
  args: unknown[];
  /** Cron expression in `timezone`. */
  cron: string;
  timezone: string;
  /** A disabled process's schedule stays registered, paused, so operators still see it. */
  paused: boolean;
  domain: string;
  note: string;
}

/** The list of schedules; each process adds its entry here. */
export function scheduleDefinitions(_config: Config): ScheduleDefinition[] {
  return [];
}

function toOptions(def: ScheduleDefinition): ScheduleOptions {
  return {
    scheduleId: def.id,
    spec: { cronExpressions: [def.cron], timezone: def.timezone },
    action: {
      type: 'startWorkflow',
      workflowType: def.workflowType,
      taskQueue: def.taskQueue,
      args: def.args,
      // Runs carry the IDs Temporal gives them (`<scheduleId>-<timestamp>`).
      workflowId: def.id,
      typedSearchAttributes: runSearchAttributes(def.domain, def.id),
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' },
    state: { paused: def.paused, note: def.note },
  };
}

/** Creates missing schedules and brings existing ones in line with their definition. */
export async function syncSchedules(client: Client, definitions: ScheduleDefinition[]): Promise<string[]> {
  const synced: string[] = [];
  for (const def of definitions) {
    const options = toOptions(def);
    try {
      await client.schedule.create(options);
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(def.id).update((previous) => ({
        ...previous,
        spec: options.spec,
        action: options.action,
        policies: { ...previous.policies, ...options.policies },
        state: { ...previous.state, paused: def.paused, note: def.note },
      }));
    }
    synced.push(def.id);
  }
  return synced;
}
