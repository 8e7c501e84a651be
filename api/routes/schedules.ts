import { listSchedules, setSchedulePaused, triggerSchedule } from '../../lib/clients/schedules';
import { scheduleDefinitions } from '../../lib/schedules';
import { ScheduleActionBody, ScheduleList, ScheduleParams, ScheduleResponse, TriggerResponse } from '../../schemas/runs';
import { changeSchedulePause, triggerScheduleNow, type ScheduleControl } from '../../services/schedules';
import type { AppDeps } from '../deps';
import { defineRoute } from '../route';

/** Schedules through the typed schedules client. */
function scheduleControl(deps: AppDeps): ScheduleControl {
  return {
    trigger: (id) => triggerSchedule(deps.temporal, id),
    setPaused: (id, paused, note) => setSchedulePaused(deps.temporal, id, paused, note, scheduleDefinitions(deps.config)),
  };
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
      const items = await listSchedules(deps.temporal, scheduleDefinitions(deps.config));
      return { status: 200, body: { items, nextCursor: null } };
    },
  }),

  defineRoute({
    method: 'post',
    path: '/api/v1/schedules/:id/trigger',
    summary: 'Start the scheduled workflow now (the schedule’s overlap policy applies; audited as schedule.trigger)',
    tag: 'schedules',
    access: ['operator', 'admin'],
    rateGroup: 'runs',
    params: ScheduleParams,
    body: ScheduleActionBody,
    responses: { 202: { description: 'triggered', schema: TriggerResponse }, 404: { description: 'unknown schedule' } },
    handler: async ({ params, body, principal, requestId, deps }) => {
      const request = { reason: body.reason ?? null, by: { actor: principal, requestId } };
      return { status: 202, body: await triggerScheduleNow(deps.db, scheduleControl(deps), params.id, request) };
    },
  }),

  ...(['pause', 'unpause'] as const).map((change) =>
    defineRoute({
      method: 'post',
      path: `/api/v1/schedules/:id/${change}`,
      summary: `${change === 'pause' ? 'Pause a schedule' : 'Resume a paused schedule'} (audited as schedule.${change})`,
      tag: 'schedules',
      access: ['operator', 'admin'],
      rateGroup: 'runs',
      params: ScheduleParams,
      body: ScheduleActionBody,
      responses: { 200: { description: 'the schedule', schema: ScheduleResponse }, 404: { description: 'unknown schedule' } },
      handler: async ({ params, body, principal, requestId, deps }) => {
        const request = { reason: body.reason ?? null, by: { actor: principal, requestId } };
        const schedule = await changeSchedulePause(deps.db, scheduleControl(deps), params.id, change === 'pause', request);
        return { status: 200, body: { schedule } };
      },
    }),
  ),
];
