import { expect } from 'chai';
import type { FormatDefinition } from 'ajv';
import { fullFormats } from 'ajv-formats/dist/formats';
import { isDateTime } from '../../lib/dateTime';

const reference = (fullFormats['date-time'] as FormatDefinition<string>).validate as (value: string) => boolean;

const CASES = [
  '2026-11-22T12:00:00.123Z',
  '2026-11-22T12:00:00Z',
  '2026-11-22T12:00:00.1Z',
  '2026-12-31T23:59:59.999999Z',
  '2026-11-22t12:00:00z',
  '2026-11-22 12:00:00Z',
  '2026-11-22\u00a012:00:00Z',
  '2026-11-22\n12:00:00Z',
  '2026-11-22T12:00:00',
  '2026-11-22T12:00:00+01:00',
  '2026-11-22T12:00:00-0130',
  '2026-11-22T12:00:00+01',
  '2026-11-22T12:00:00+24:00',
  '2026-11-22T12:00:00+01:60',
  '2026-11-22T12:00:00+1:00',
  '2026-11-22T12:00:00.Z',
  '2026-11-22T12:00:00.000000001Z',
  '2026-11-22T24:00:00Z',
  '2026-11-22T23:60:00Z',
  '2026-12-31T23:59:60Z',
  '2026-12-31T23:59:60.5Z',
  '2026-12-31T22:59:60-01:00',
  '2027-01-01T00:59:60+01:00',
  '2026-12-31T23:59:61Z',
  '2026-06-30T12:59:60Z',
  '2024-02-29T00:00:00Z',
  '2026-02-29T00:00:00Z',
  '2000-02-29T00:00:00Z',
  '1900-02-29T00:00:00Z',
  '2026-04-31T00:00:00Z',
  '2026-13-01T00:00:00Z',
  '2026-00-10T00:00:00Z',
  '2026-01-00T00:00:00Z',
  '2026-01-32T00:00:00Z',
  '2026-1-01T00:00:00Z',
  '2026-11-22TT12:00:00Z',
  '2026-11-22T12:00:00Zt',
  '2026-11-22T12:00:00Z\n',
  ' 2026-11-22T12:00:00Z',
  '2026-11-22',
  '12:00:00Z',
  '',
  '२०२६-11-22T12:00:00Z',
];

/** Strings near valid date-times: each of a valid one's characters replaced, dropped or doubled. */
function mutations(seed: string): string[] {
  const alphabet = ['0', '1', '2', '3', '5', '6', '9', 'T', 't', ' ', 'Z', 'z', '+', '-', ':', '.', 'x', '\t'];
  const out: string[] = [];
  for (let i = 0; i < seed.length; i++) {
    out.push(seed.slice(0, i) + seed.slice(i + 1), seed.slice(0, i) + seed[i] + seed.slice(i));
    for (const c of alphabet) out.push(seed.slice(0, i) + c + seed.slice(i + 1));
  }
  return out;
}

describe('isDateTime: the date-time format of JSON bodies', () => {
  it('accepts and rejects exactly what ajv-formats accepts and rejects', () => {
    const inputs = [...CASES, ...CASES.flatMap(mutations)];
    const disagreements = inputs.filter((s) => isDateTime(s) !== reference(s));
    expect(disagreements).to.deep.equal([]);
    expect(inputs.length).to.be.greaterThan(10_000);
  });
});
