import { Type } from '@sinclair/typebox';
import { runSnapshot } from '../../lib/clients/progress';
import { AppError, forbidden, notFound } from '../../lib/errors';
import { Roles } from '../../schemas/common';
import { EndFrame, ProgressFrame } from '../../schemas/notifications';
import { WorkflowIdParams } from '../../schemas/runs';
import { mayFollowRun, progressStream, STREAM_LIMITS, StreamSlots } from '../../services/runProgress';
import { defineRoute } from '../route';

const MAX_STREAMS_PER_PRINCIPAL = 10;
const slots = new StreamSlots(MAX_STREAMS_PER_PRINCIPAL);

export const runProgressRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/v1/runs/:workflowId/progress',
    summary:
      'Server-Sent Events of a run\'s progress: the current `progress`, each change (polled every 500 ms), then `end` with the final status; ' +
      'heartbeats every 15 s, at most 10 streams per principal and 15 minutes per stream; a reconnect (Last-Event-ID) after the end gets 204',
    tag: 'runs',
    access: Roles,
    rateGroup: 'runs',
    params: WorkflowIdParams,
    headers: [{ name: 'Last-Event-ID', required: false, description: 'sent by a reconnecting client' }],
    responses: {
      200: {
        description: 'text/event-stream of `progress` frames ({stage, percent, detail}) and one `end` frame ({status})',
        schema: Type.Union([ProgressFrame, EndFrame]),
        contentType: 'text/event-stream',
      },
      204: { description: 'a reconnect after the run ended: nothing more will come' },
      403: { description: 'the caller may not read the run\'s resource' },
      404: { description: 'unknown workflow ID' },
      429: { description: 'TOO_MANY_STREAMS: 10 streams already open' },
    },
    handler: async ({ params, headers, principal, deps }) => {
      if (!(await mayFollowRun(deps.db, principal, params.workflowId))) throw forbidden('RUN_NOT_FOLLOWABLE', 'you may not follow this run');
      const first = await runSnapshot(deps.temporal, params.workflowId);
      if (!first) throw notFound('run');
      if (first.status !== 'Running' && headers['last-event-id'] !== undefined) return { status: 204, body: null };
      if (!slots.take(principal.sub)) {
        throw new AppError(429, 'rate_limited', 'TOO_MANY_STREAMS', `at most ${MAX_STREAMS_PER_PRINCIPAL} progress streams at once`);
      }
      const stream = progressStream(first, () => runSnapshot(deps.temporal, params.workflowId), STREAM_LIMITS, () => slots.release(principal.sub));
      return {
        status: 200,
        body: stream,
        headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' },
      };
    },
  }),
];
