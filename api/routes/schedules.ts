import { listSchedules, setSchedulePaused, triggerSchedule } from '../../lib/clients/schedules';
import { scheduleDefinitions } from '../../lib/schedules';
import { ScheduleList, ScheduleParams, ScheduleResponse, TriggerResponse } from '../../schemas/runs';
import { defineRoute } from '../route';

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
      const items = await listSchedules(deps.temporal, scheduleDefinitions(deps.config));
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
      await triggerSchedule(deps.temporal, params.id);
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
        const note = `${change}d by ${principal.sub}`;
        const schedule = await setSchedulePaused(deps.temporal, params.id, change === 'pause', note, scheduleDefinitions(deps.config));
        return { status: 200, body: { schedule } };
      },
    }),
  ),
];
