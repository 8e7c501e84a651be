// `npm run bench:payments [-- --payments 100 --concurrency 10]`: payments per
// second from the API call to `succeeded` (the benchmark sends the signed
// webhooks), beside a bare Temporal client starting the same workflow and
// signalling it directly, in the same run against the same worker and stack.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { logger } from '../../lib/logger';
import { runSearchAttributes } from '../../lib/temporal';
import {
  PAYMENT_CAPTURE_WORKFLOW,
  PAYMENTS_DOMAIN,
  PAYMENTS_TASK_QUEUE,
  paymentWorkflowId,
  stripeEventSignal,
} from '../../workflows/paymentCapture.contract';
import { installRuntime } from '../../workers/runtime';
import { createPayment, postWebhook, stripeEvent } from '../../test/support/payments';
import { closeShared, createWorker, shared, startApi, temporalClient } from '../../test/support/shared';
import { loadShape } from './loop';

const { values } = parseArgs({
  options: { payments: { type: 'string', default: '100' }, concurrency: { type: 'string', default: '10' } },
});
const PAYMENTS = Number(values.payments);
const CONCURRENCY = Number(values.concurrency);

/** Payments per second of `count` runs of `one`, CONCURRENCY at once (the loop bench:starts uses too). */
async function perSecond(count: number, one: () => Promise<void>): Promise<number> {
  return (await loadShape(count, CONCURRENCY, one)).perSecond;
}

async function main(): Promise<void> {
  installRuntime(logger);
  logger.level = 'warn';
  const { db, config } = shared();
  await db.migrate.latest();
  const api = await startApi({ RATE_LIMIT_BURST: 1000000, RATE_LIMIT_PER_MINUTE: 1000000 });
  const client = await temporalClient();
  const worker = await createWorker(PAYMENTS_TASK_QUEUE);

  const throughApi = async () => {
    const { payment, run } = (await createPayment(api.url)).body;
    await postWebhook(api.url, stripeEvent('payment_intent.succeeded', payment.id));
    await client.workflow.getHandle(run.workflowId).result();
  };

  const bareClient = async () => {
    const id = randomUUID();
    await db('payments').insert({
      id, customerId: `bench-${id}`, idempotencyKey: id, requestHash: 'bench', amountCents: 5000, currency: 'usd',
      taxCents: 0, discountCents: 0, totalCents: 5000, captureMethod: 'automatic', status: 'pending',
    });
    const handle = await client.workflow.start(PAYMENT_CAPTURE_WORKFLOW, {
      workflowId: paymentWorkflowId(id),
      taskQueue: PAYMENTS_TASK_QUEUE,
      args: [{ paymentId: id, captureMethod: 'automatic', authorizationTtlHours: config.PAYMENTS_AUTHORIZATION_TTL_HOURS }],
      typedSearchAttributes: runSearchAttributes(PAYMENTS_DOMAIN, id),
    });
    await handle.signal(stripeEventSignal, { eventId: `evt_${id}`, type: 'payment_intent.succeeded', declineCode: null, message: null });
    await handle.result();
  };

  const [platform, bare] = await worker.runUntil(async () => {
    await perSecond(CONCURRENCY, throughApi); // warm-up
    return [await perSecond(PAYMENTS, throughApi), await perSecond(PAYMENTS, bareClient)];
  });
  console.log('| payments | concurrency | API + webhooks /s | bare Temporal client /s | ratio |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(`| ${PAYMENTS} | ${CONCURRENCY} | ${platform.toFixed(1)} | ${bare.toFixed(1)} | ${(platform / bare).toFixed(3)} |`);
  await closeShared();
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
