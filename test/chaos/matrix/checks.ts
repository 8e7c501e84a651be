// Invariant checks that count themselves, and the figures of each case appended to a JSON lines file
// that scripts/chaos-table.ts turns into RELIABILITY.md's table.
import { expect } from 'chai';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export class Checks {
  count = 0;

  equal<T>(actual: T, expected: T, what: string): void {
    this.count += 1;
    expect(actual, what).to.deep.equal(expected);
  }

  that(ok: boolean, what: string): void {
    this.count += 1;
    expect(ok, what).to.equal(true);
  }
}

export interface CaseFigures {
  process: string;
  fault: string;
  runs: number;
  /** Runs not yet closed when the fault was injected (Stripe faults: armed before the runs started). */
  openAtFault: number | null;
  recoveryMs: number | null;
  /** Fault injected (or armed) to every run settled. */
  settleMs: number | null;
  invariantsChecked: number;
  result: 'passed' | 'failed';
  error?: string;
  at: string;
}

export const RESULTS_FILE = process.env.CHAOS_RESULTS_FILE ?? path.resolve(__dirname, '../../../.data/logs/chaos-results.jsonl');

export function recordCase(figures: CaseFigures): void {
  mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  appendFileSync(RESULTS_FILE, `${JSON.stringify(figures)}\n`);
}
