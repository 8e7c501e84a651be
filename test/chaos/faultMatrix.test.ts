// SPEC §6's fault suite: every process × every part of the stack. Runs are started, the part is
// SIGKILLed and restarted (or Stripe fails through the proxy) while they are in flight, and then the
// process's invariants are checked from the outside. CHAOS_FULL=1 (`make chaos`) runs the whole matrix;
// otherwise (`make test`) a short selection, one fault per part. Each case appends its figures to
// .data/logs/chaos-results.jsonl (scripts/chaos-table.ts makes the table of RELIABILITY.md).
import type { ChildProcess } from 'node:child_process';
import { startStripeProxy } from '../support/payments';
import { startApi } from '../support/shared';
import { notCrashable, type StackPart } from '../support/stackParts';
import { killHard, startWorkerProcess } from '../support/workerProcess';
import { Checks, recordCase, type CaseFigures } from './matrix/checks';
import { FAULTS } from './matrix/faults';
import type { ChaosContext, Fault, Scenario } from './matrix/types';
import { SCENARIOS } from './scenarios';
import { stillRunning } from './scenarios/runs';

const FULL = process.env.CHAOS_FULL === '1';
const RUNS = FULL ? 3 : 2;
/** One fault per part, each on a process the other chaos tests do not already crash that way. */
const SHORT: Array<[string, string]> = [
  ['payment capture', 'worker SIGKILL'],
  ['release evaluation', 'temporal SIGKILL'],
  ['retention run', 'postgres SIGKILL'],
  ['asset conversion', 's3 SIGKILL'],
  ['refund', 'stripe connection resets'],
  ['webhook delivery', 'worker SIGKILL'],
];

const applies = (scenario: Scenario, fault: Fault) => fault.part !== 'stripe' || scenario.stripeCalls.length > 0;
const selected = (scenario: Scenario, fault: Fault) => FULL || SHORT.some(([p, f]) => p === scenario.process && f === fault.name);
const stackPart = (fault: Fault): StackPart | undefined => (['temporal', 'postgres', 's3'].includes(fault.part) ? (fault.part as StackPart) : undefined);

async function runCase(scenario: Scenario, fault: Fault, figures: CaseFigures): Promise<void> {
  const proxy = await startStripeProxy();
  const api = await startApi({ RATE_LIMIT_BURST: 100_000, ...scenario.apiOverrides });
  const env = { STRIPE_API_BASE: proxy.url, ...scenario.workerEnv, ...fault.workerEnv };
  const startWorker = (): ChildProcess => startWorkerProcess(env);
  const ctx: ChaosContext = { api, proxy, startWorker, worker: startWorker(), runs: RUNS, startedAt: Date.now() };
  try {
    fault.arm?.(proxy, scenario.stripeCalls, RUNS);
    const state = await scenario.start(ctx);
    figures.openAtFault = await stillRunning(scenario.runsOf(state));
    const injected = Date.now();
    figures.recoveryMs = await fault.inject(ctx);
    const checks = new Checks();
    try {
      await scenario.settle(ctx, state, checks);
    } finally {
      figures.invariantsChecked = checks.count;
    }
    figures.settleMs = Date.now() - injected;
  } finally {
    await killHard(ctx.worker);
    await proxy.close();
  }
}

describe(`chaos: the fault matrix, ${FULL ? 'in full' : 'short selection'} (SPEC §6, issue 13)`, function () {
  this.timeout(600_000);

  for (const scenario of SCENARIOS) {
    for (const fault of FAULTS.filter((f) => applies(scenario, f) && selected(scenario, f))) {
      it(`${scenario.process} × ${fault.name}: every run settles, its records agree, nothing missing or doubled`, async function () {
        const part = stackPart(fault);
        const reason = part && notCrashable(part);
        if (reason) {
          console.log(`      skipped: ${reason}`);
          this.skip();
        }
        const figures: CaseFigures = {
          process: scenario.process,
          fault: fault.name,
          runs: RUNS,
          openAtFault: null,
          recoveryMs: null,
          settleMs: null,
          invariantsChecked: 0,
          result: 'failed',
          at: new Date().toISOString(),
        };
        try {
          await runCase(scenario, fault, figures);
          figures.result = 'passed';
        } catch (err) {
          figures.error = (err as Error).message.slice(0, 500);
          throw err;
        } finally {
          recordCase(figures);
        }
      });
    }
  }
});
