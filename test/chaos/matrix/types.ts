// The fault matrix's two axes (test/chaos/faultMatrix.test.ts): a scenario per process, which starts
// runs and checks that process's invariants from the outside, and a fault per stack part.
import type { ChildProcess } from 'node:child_process';
import type { Config } from '../../../lib/config';
import type { TestApi } from '../../support/shared';
import type { StripeProxy } from '../../support/stripeProxy';
import type { RunRef } from '../scenarios/runs';
import type { Checks } from './checks';

export interface ChaosContext {
  api: TestApi;
  /** Every Stripe call of the worker goes through it; without faults armed it only forwards. */
  proxy: StripeProxy;
  /** The worker process of the moment: a worker fault replaces it. */
  worker: ChildProcess;
  /** Starts a worker process with the case's environment (the proxy, the scenario's and the fault's settings). */
  startWorker(): ChildProcess;
  runs: number;
  /** When the case armed its faults and started its runs (epoch ms). */
  startedAt: number;
}

export interface StripeCall {
  method: string;
  path: RegExp;
}

export interface Scenario<State = unknown> {
  process: string;
  /** The Stripe calls the process makes: where the proxy's faults are aimed; none, no Stripe faults. */
  stripeCalls: StripeCall[];
  apiOverrides?: Partial<Config>;
  workerEnv?: Record<string, string>;
  /** Starts `ctx.runs` runs and resolves once every one of them is in flight. */
  start(ctx: ChaosContext): Promise<State>;
  /** The workflow runs the scenario started. */
  runsOf(state: State): RunRef[];
  /** Drives the runs to their end (webhooks, manual steps), waits for every one to settle, checks the invariants. */
  settle(ctx: ChaosContext, state: State, checks: Checks): Promise<void>;
}

export type FaultPart = 'worker' | 'temporal' | 'postgres' | 's3' | 'stripe';

export interface Fault {
  name: string;
  part: FaultPart;
  workerEnv?: Record<string, string>;
  /** Before the runs start: aims the proxy's faults at the scenario's Stripe calls (Stripe faults only). */
  arm?(proxy: StripeProxy, calls: StripeCall[], runs: number): void;
  /**
   * While the runs are in flight; answers the recovery time in ms: part killed to part healthy again, or for
   * Stripe, faults armed to the last of them spent (the proxy answering as Stripe again).
   */
  inject(ctx: ChaosContext): Promise<number>;
}
