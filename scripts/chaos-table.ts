// `npm run chaos:table [file]`: RELIABILITY.md's table from the fault suite's figures
// (.data/logs/chaos-results.jsonl, one line per case; the latest line of each case wins).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CaseFigures } from '../test/chaos/matrix/checks';

const DEFAULT_FILE = path.resolve(__dirname, '../.data/logs/chaos-results.jsonl');

const ms = (n: number | null) => (n === null ? '—' : n.toLocaleString('en-US'));

export function latestCases(lines: string[]): CaseFigures[] {
  const byCase = new Map<string, CaseFigures>();
  for (const line of lines.filter((l) => l.trim())) {
    const figures = JSON.parse(line) as CaseFigures;
    byCase.set(`${figures.process}\u0000${figures.fault}`, figures);
  }
  return [...byCase.values()];
}

export function chaosTable(cases: CaseFigures[]): string {
  const rows = cases.map(
    (c) => `| ${c.process} | ${c.fault} | ${c.runs} | ${c.openAtFault ?? '—'} | ${ms(c.recoveryMs)} | ${ms(c.settleMs)} | ${c.invariantsChecked} | ${c.result}${c.error ? `: ${c.error.split('\n')[0]}` : ''} |`,
  );
  const passed = cases.filter((c) => c.result === 'passed').length;
  const total = (key: 'runs' | 'invariantsChecked') => cases.reduce((sum, c) => sum + c[key], 0);
  return [
    '| process | fault | runs | open at fault | recovery (ms) | fault to all settled (ms) | invariant checks | result |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
    '',
    `${cases.length} cases (${passed} passed), ${total('runs')} runs, ${total('invariantsChecked')} invariant checks.`,
  ].join('\n');
}

if (require.main === module) {
  const file = process.argv[2] ?? DEFAULT_FILE;
  console.log(chaosTable(latestCases(readFileSync(file, 'utf8').split('\n'))));
}
