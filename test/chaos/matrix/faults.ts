// One fault per stack part: the worker, Temporal, Postgres and the S3 gateway are SIGKILLed and
// restarted while the runs are in flight; Stripe fails through the proxy (stripe-mock itself cannot).
// clamd is a further part to add here (SPEC §6); the webhook receiver's 5xx and timeouts are the
// webhook delivery scenario's own (scenarios/webhookDelivery.ts).
import { crashAndRestart, type StackPart } from '../../support/stackParts';
import { stripeOutage } from '../../support/stripeProxy';
import { waitFor } from '../../support/wait';
import { killHard } from '../../support/workerProcess';
import type { ChaosContext, Fault } from './types';

/** Short enough that a held-back answer times out quickly; the proxy holds each faulted call longer. */
const STRIPE_TIMEOUT_MS = 1500;

const workerKill: Fault = {
  name: 'worker SIGKILL',
  part: 'worker',
  async inject(ctx: ChaosContext) {
    const started = Date.now();
    await killHard(ctx.worker);
    ctx.worker = ctx.startWorker();
    return Date.now() - started;
  },
};

const stackKill = (part: StackPart, name: string): Fault => ({
  name: `${name} SIGKILL`,
  part: part as Fault['part'],
  inject: () => crashAndRestart(part),
});

/** Until every armed fault was spent: the proxy answers as Stripe again. */
async function faultsSpent(ctx: ChaosContext): Promise<number> {
  await waitFor('every injected Stripe fault to be spent', async () => (ctx.proxy.faultsLeft === 0 ? true : undefined), 120_000);
  return Date.now() - ctx.startedAt;
}

/** The first call of each run to each faulted endpoint fails this way; the retries reach stripe-mock. */
const stripeFault = (name: string, rule: { respond?: typeof stripeOutage; delayMs?: number; reset?: boolean }, workerEnv?: Record<string, string>): Fault => ({
  name: `stripe ${name}`,
  part: 'stripe',
  workerEnv,
  arm(proxy, calls, runs) {
    for (const call of calls) proxy.inject({ ...call, times: runs, ...rule });
  },
  inject: faultsSpent,
});

export const FAULTS: Fault[] = [
  workerKill,
  stackKill('temporal', 'temporal'),
  stackKill('postgres', 'postgres'),
  stackKill('s3', 's3'),
  stripeFault('errors (500)', { respond: stripeOutage }),
  stripeFault('timeouts', { delayMs: STRIPE_TIMEOUT_MS * 2 }, { PROVIDER_TIMEOUT_MS: String(STRIPE_TIMEOUT_MS) }),
  stripeFault('connection resets', { reset: true }),
];
