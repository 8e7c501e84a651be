// The schedule sync (SPEC §4.6): one bootstrap step creates what is missing and updates specs, and
// pauses or unpauses only when a `*_ENABLED` setting changed since the last sync, so an operator's
// pause survives restarts and deploys. Against the real Temporal server.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { pausedAfterSync, scheduleDefinitions, syncSchedules, type ScheduleDefinition } from '../../lib/schedules';
import { DATA_RETENTION_SCHEDULE_ID } from '../../workflows/retentionRun.contract';
import { shared, temporalClient } from '../support/shared';

describe('schedule sync (SPEC §4.6)', () => {
  /** The production retention schedule under an id of its own, with the given setting applied. */
  const definitionWith = (id: string, overrides: Partial<ScheduleDefinition>): ScheduleDefinition => {
    const definition = scheduleDefinitions(shared().config).find((d) => d.id === DATA_RETENTION_SCHEDULE_ID);
    return { ...definition!, id, ...overrides };
  };

  const describeSchedule = async (id: string) => (await temporalClient()).schedule.getHandle(id).describe();

  it('keeps an operator’s pause or unpause across syncs until the setting itself changes', async () => {
    const client = await temporalClient();
    const id = `data-retention-sync-${randomUUID()}`;
    try {
      await syncSchedules(client, [definitionWith(id, { paused: false })]);
      expect((await describeSchedule(id)).state.paused).to.equal(false);

      await client.schedule.getHandle(id).pause('incident 42: storage migration');
      await syncSchedules(client, [definitionWith(id, { paused: false, cron: '15 3 * * *' })]);
      const afterDeploy = await describeSchedule(id);
      expect(afterDeploy.state.paused, 'the operator’s pause survives a sync').to.equal(true);
      expect(afterDeploy.state.note).to.equal('incident 42: storage migration');
      const [calendar] = afterDeploy.spec.calendars ?? [];
      expect([calendar?.hour, calendar?.minute], 'specs are still updated').to.deep.equal([
        [{ start: 3, end: 3, step: 1 }],
        [{ start: 15, end: 15, step: 1 }],
      ]);

      await syncSchedules(client, [definitionWith(id, { paused: true })]);
      expect((await describeSchedule(id)).state.paused, 'the setting changed to disabled').to.equal(true);
      await client.schedule.getHandle(id).unpause('backfill by hand');
      await syncSchedules(client, [definitionWith(id, { paused: true })]);
      expect((await describeSchedule(id)).state.paused, 'the operator’s unpause survives a sync').to.equal(false);

      await syncSchedules(client, [definitionWith(id, { paused: false })]);
      await syncSchedules(client, [definitionWith(id, { paused: true })]);
      expect((await describeSchedule(id)).state.paused, 'a changed setting applies').to.equal(true);
    } finally {
      await client.schedule.getHandle(id).delete();
    }
  });

  it('applies the setting to a schedule no sync has recorded one for', () => {
    expect(pausedAfterSync({ paused: true }, { paused: false, appliedPaused: undefined })).to.equal(true);
    expect(pausedAfterSync({ paused: false }, { paused: true, appliedPaused: undefined })).to.equal(false);
  });
});
