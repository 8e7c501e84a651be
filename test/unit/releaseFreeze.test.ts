import { expect } from 'chai';
import { ApplicationFailure } from '@temporalio/common';
import { changeFreezeOverlaps, type ChangeFreeze } from '../../activities/releases';

describe('change-freeze overlaps of a release window (cron with a time zone)', () => {
  const newYorkFridayEvening: ChangeFreeze = { cron: '0 18 * * 5', timezone: 'America/New_York', durationMinutes: 60 };
  const window = (start: string, end: string) => ({ start, end });

  it('reads the cron in its time zone, daylight saving time included', () => {
    // 18:00 in New York is 23:00 UTC in November (EST) and 22:00 UTC in July (EDT).
    const winter = changeFreezeOverlaps(window('2026-11-27T22:30:00Z', '2026-11-27T23:30:00Z'), newYorkFridayEvening);
    expect(winter.map((w) => [w.freezeStart, w.freezeEnd])).to.deep.equal([['2026-11-27T23:00:00.000Z', '2026-11-28T00:00:00.000Z']]);
    const summer = changeFreezeOverlaps(window('2026-07-03T21:30:00Z', '2026-07-03T22:15:00Z'), newYorkFridayEvening);
    expect(summer.map((w) => w.freezeStart)).to.deep.equal(['2026-07-03T22:00:00.000Z']);
    expect(summer[0].code).to.equal('CHANGE_FREEZE_OVERLAP');
    expect(summer[0].message).to.contain('America/New_York');
  });

  it('finds nothing when the window misses the freeze; windows and freezes are half-open', () => {
    expect(changeFreezeOverlaps(window('2026-11-27T18:00:00Z', '2026-11-27T18:30:00Z'), newYorkFridayEvening)).to.deep.equal([]);
    expect(changeFreezeOverlaps(window('2026-11-27T22:00:00Z', '2026-11-27T23:00:00Z'), newYorkFridayEvening)).to.deep.equal([]);
    expect(changeFreezeOverlaps(window('2026-11-28T00:00:00Z', '2026-11-28T01:00:00Z'), newYorkFridayEvening)).to.deep.equal([]);
  });

  it('catches a freeze that began before the window (the default Friday 16:00 → Monday 08:00 UTC)', () => {
    const weekend: ChangeFreeze = { cron: '0 16 * * 5', timezone: 'UTC', durationMinutes: 3840 };
    const sunday = changeFreezeOverlaps(window('2026-11-29T12:00:00Z', '2026-11-29T13:00:00Z'), weekend);
    expect(sunday.map((w) => [w.freezeStart, w.freezeEnd])).to.deep.equal([['2026-11-27T16:00:00.000Z', '2026-11-30T08:00:00.000Z']]);
    const fortnight = changeFreezeOverlaps(window('2026-11-23T08:00:00Z', '2026-12-07T00:00:00Z'), weekend);
    expect(fortnight.map((w) => w.freezeStart)).to.deep.equal(['2026-11-27T16:00:00.000Z', '2026-12-04T16:00:00.000Z']);
  });

  it('refuses a cron it cannot parse with a non-retryable failure', () => {
    const broken = () => changeFreezeOverlaps(window('2026-11-27T22:30:00Z', '2026-11-27T23:30:00Z'), { ...newYorkFridayEvening, cron: '0 99 * * 5' });
    expect(broken).to.throw(ApplicationFailure).with.property('type', 'InvalidChangeFreeze');
  });
});
