// webhookDelivery with mocked attempts on the time-skipping test server (SPEC §4.7, §6).
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { expect } from 'chai';
import type { NotificationActivities } from '../../../activities/notifications';
import type { webhookDelivery } from '../../../workflows/webhookDelivery';
import {
  NOTIFICATIONS_DOMAIN,
  progressQuery,
  WEBHOOK_DELIVERY_WORKFLOW,
  webhookDeliveryWorkflowId,
  type DeliveryAttemptOutcome,
  type WebhookDeliveryInput,
} from '../../../workflows/webhookDelivery.contract';
import { ActivityMocks, rejectionOf, untilStage, unreachable, useWorkflowRunner } from '../../support/workflowEnv';

const ok: DeliveryAttemptOutcome = { delivered: true, abandon: false };
const refused: DeliveryAttemptOutcome = { delivered: false, abandon: false };
const gone: DeliveryAttemptOutcome = { delivered: false, abandon: true };

/** Attempts answer `outcomes` in turn (the last one again after that). */
function deliveryMocks(outcomes: DeliveryAttemptOutcome[], overrides: Partial<NotificationActivities> = {}) {
  let n = 0;
  return new ActivityMocks<NotificationActivities>({
    attemptDelivery: async () => outcomes[Math.min(n++, outcomes.length - 1)],
    failDelivery: async () => undefined,
    ...overrides,
  });
}

describe('webhookDelivery workflow (mocked activities)', function () {
  const { run } = useWorkflowRunner<typeof webhookDelivery>({
    type: WEBHOOK_DELIVERY_WORKFLOW,
    domain: NOTIFICATIONS_DOMAIN,
    workflowId: (input) => webhookDeliveryWorkflowId(input.endpointId, input.eventId),
  });
  // The production schedule: 5 s … 10 h, passed in virtual time.
  const input = (retryScheduleSeconds = [5, 300, 1800, 7200, 18000, 36000, 36000]): WebhookDeliveryInput => ({
    endpointId: randomUUID(),
    eventId: randomUUID(),
    retryScheduleSeconds,
  });

  it('a first answered attempt → succeeded, nothing marked failed', async () => {
    const mocks = deliveryMocks([ok]);
    const args = input();
    const [result, progress] = await run([args], mocks, async (h) => [await h.result(), await h.query(progressQuery)] as const);
    expect(result).to.deep.equal({ endpointId: args.endpointId, eventId: args.eventId, status: 'succeeded' });
    expect(progress).to.include({ stage: 'succeeded', percent: 100 });
    expect(mocks.names()).to.deep.equal(['attemptDelivery']);
  });

  it('retries on the durable schedule until an attempt is answered', async () => {
    const mocks = deliveryMocks([refused, refused, refused, ok]);
    const result = await run([input()], mocks);
    expect(result.status).to.equal('succeeded');
    expect(mocks.names()).to.deep.equal(['attemptDelivery', 'attemptDelivery', 'attemptDelivery', 'attemptDelivery']);
  });

  it('after the last retry → failed (one attempt plus one per scheduled wait)', async () => {
    const mocks = deliveryMocks([refused]);
    const args = input();
    const result = await run([args], mocks);
    expect(result.status).to.equal('failed');
    expect(mocks.names().filter((n) => n === 'attemptDelivery')).to.have.length(8);
    expect(mocks.calls[mocks.calls.length - 1]).to.deep.equal({ name: 'failDelivery', args: [args.endpointId, args.eventId] });
  });

  it('an endpoint gone or inactive → failed at once', async () => {
    const mocks = deliveryMocks([gone]);
    const result = await run([input()], mocks);
    expect(result.status).to.equal('failed');
    expect(mocks.names()).to.deep.equal(['attemptDelivery', 'failDelivery']);
  });

  it('a canceled run leaves the delivery failed (retryable by hand) and ends Canceled', async () => {
    const mocks = deliveryMocks([refused]);
    const err = await run([input([3600])], mocks, async (h) => {
      await untilStage(h, 'waiting');
      await h.cancel();
      return rejectionOf(h.result());
    });
    expect(err).to.be.instanceOf(WorkflowFailedError);
    expect(mocks.names()).to.deep.equal(['attemptDelivery', 'failDelivery']);
  });

  it('bookkeeping that exhausts its retries marks the delivery failed and fails the run', async () => {
    const mocks = deliveryMocks([], { attemptDelivery: unreachable('database down') });
    const err = await run([input()], mocks, (h) => rejectionOf(h.result()));
    expect(err).to.be.instanceOf(WorkflowFailedError);
    expect(mocks.names().at(-1)).to.equal('failDelivery');
  });
});
