import { ScheduleNotFoundError, type ScheduleDescription, type ScheduleHandle } from '@temporalio/client';
import { notFound } from '../../lib/errors';
import { scheduleDefinitions, type ScheduleDefinition } from '../../lib/schedules';
import { ScheduleList, ScheduleParams, ScheduleResponse, TriggerResponse, type ScheduleView } from '../../schemas/runs';
import { defineRoute } from '../route';

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

export const scheduleRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/v1/schedules',
    summary: 'Every schedule: its spec, next runs, whether it is paused and its last run',
    tag: 'schedules',
    access: ['operator', 'support', 'admin'],
    rateGroup: 'runs',
    responses: { 200: { description: 'the schedules', schema: ScheduleList } },
    handler: async ({ deps }) => {
      const items: ScheduleView[] = [];
      const definitions = scheduleDefinitions(deps.config);
      for await (const summary of deps.temporal.schedule.list()) {
        items.push(viewOf(definitions, await describeSchedule(deps.temporal.schedule.getHandle(summary.scheduleId))));
      }
      items.sort((a, b) => a.id.localeCompare(b.id));
      return { status: 200, body: { items, nextCursor: null } };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/schedules/:id/trigger',
    summary: 'Start the scheduled workflow now (the schedule’s overlap policy applies)',
    tag: 'schedules',
    access: ['operator', 'admin'],
    rateGroup: 'runs',
    params: ScheduleParams,
    responses: { 202: { description: 'triggered', schema: TriggerResponse }, 404: { description: 'unknown schedule' } },
    handler: async ({ params, deps }) => {
      const handle = deps.temporal.schedule.getHandle(params.id);
      await describeSchedule(handle);
      await handle.trigger();
      return { status: 202, body: { scheduleId: params.id, triggeredAt: new Date().toISOString() } };
    },
  }),

  ...(['pause', 'unpause'] as const).map((change) =>
    defineRoute({
      method: 'post',
      path: `/api/v1/schedules/:id/${change}`,
      summary: change === 'pause' ? 'Pause a schedule' : 'Resume a paused schedule',
      tag: 'schedules',
      access: ['operator', 'admin'],
      rateGroup: 'runs',
      params: ScheduleParams,
      responses: { 200: { description: 'the schedule', schema: ScheduleResponse }, 404: { description: 'unknown schedule' } },
      handler: async ({ params, principal, deps }) => {
        const handle = deps.temporal.schedule.getHandle(params.id);
        await describeSchedule(handle);
        const note = `${change}d by ${principal.sub}`;
        await (change === 'pause' ? handle.pause(note) : handle.unpause(note));
        return { status: 200, body: { schedule: viewOf(scheduleDefinitions(deps.config), await describeSchedule(handle)) } };
      },
    }),
  ),
];
