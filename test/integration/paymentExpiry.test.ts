import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createPaymentActivities } from '../../activities/payments';
import { Payment } from '../../db/models/Payment';
import { runSearchAttributes } from '../../lib/temporal';
import { createStripeClient } from '../../providers/stripe';
import {
  PAYMENT_CAPTURE_WORKFLOW,
  PAYMENTS_DOMAIN,
  PAYMENTS_TASK_QUEUE,
  paymentWorkflowId,
  stripeEventSignal,
  type PaymentCaptureResult,
} from '../../workflows/paymentCapture.contract';
import { startStripeProxy } from '../support/payments';
import { shared, workflowBundle } from '../support/shared';
import type { StripeProxy } from '../support/stripeProxy';
import { createTimeSkippingEnv } from '../support/timeSkipping';

describe('payment authorization expiry on the time-skipping server (SPEC §4.2)', () => {
  let env: TestWorkflowEnvironment;
  let proxy: StripeProxy;

  before(async () => {
    env = await createTimeSkippingEnv();
  });
  after(async () => {
    await env?.teardown();
  });
  beforeEach(async () => {
    proxy = await startStripeProxy();
  });
  afterEach(async () => {
    await proxy.close();
  });

  async function pendingManualPayment(): Promise<string> {
    const id = randomUUID();
    await shared().db('payments').insert({
      id, customerId: `cust-${id}`, idempotencyKey: id, requestHash: 'expiry-test', amountCents: 5000, currency: 'usd',
      taxCents: 0, discountCents: 0, totalCents: 5000, captureMethod: 'manual', status: 'pending',
    });
    return id;
  }

  it('cancels an authorization left uncaptured past PAYMENTS_AUTHORIZATION_TTL_HOURS, asking Stripe once', async () => {
    const { db, config } = shared();
    const paymentId = await pendingManualPayment();
    const stripe = createStripeClient({ apiBase: proxy.url, secretKey: config.STRIPE_SECRET_KEY, timeoutMs: config.PROVIDER_TIMEOUT_MS });
    const worker = await Worker.create({
      connection: env.nativeConnection,
      namespace: env.namespace ?? 'default',
      taskQueue: PAYMENTS_TASK_QUEUE,
      workflowBundle: await workflowBundle(),
      activities: createPaymentActivities({ db, stripe }),
    });
    const ttlHours = 168;
    const startedAt = await env.currentTimeMs();
    const result: PaymentCaptureResult = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start(PAYMENT_CAPTURE_WORKFLOW, {
        workflowId: paymentWorkflowId(paymentId),
        taskQueue: PAYMENTS_TASK_QUEUE,
        args: [{ paymentId, captureMethod: 'manual', authorizationTtlHours: ttlHours }],
        typedSearchAttributes: runSearchAttributes(PAYMENTS_DOMAIN, paymentId),
      });
      await handle.signal(stripeEventSignal, {
        eventId: `evt_${randomUUID()}`,
        type: 'payment_intent.amount_capturable_updated',
        declineCode: null,
        message: null,
      });
      return handle.result();
    });
    expect(result.status).to.equal('canceled');
    expect(await env.currentTimeMs() - startedAt, 'time skipped past the TTL').to.be.at.least(ttlHours * 3600 * 1000);
    const payment = (await Payment.query(db).findById(paymentId)) as Payment;
    expect(payment).to.include({ status: 'canceled', failureReason: 'authorization expired uncaptured' });
    expect(proxy.matching('POST', /^\/v1\/payment_intents\/[^/]+\/cancel$/)).to.have.length(1);
  });
});
