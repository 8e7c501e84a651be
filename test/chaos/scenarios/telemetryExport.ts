import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { TelemetryExport } from '../../../db/models/Telemetry';
import { call, tokenFor } from '../../support/http';
import { shared } from '../../support/shared';
import { exportedObjectsSince, ingest, makeEvents, occurrences } from '../../support/telemetry';
import { waitFor } from '../../support/wait';
import type { Scenario } from '../matrix/types';
import { settledResult, times, type RunRef } from './runs';

const BATCH_SIZE = 10;
const EVENTS_PER_RUN = 40;
/** One prefix per test process: every object its workers write can be listed back from the bucket. */
const PREFIX = `chaos-${randomUUID()}`;

interface Exporting {
  since: Date;
  eventIds: string[];
  runs: RunRef[];
  /** Objects earlier cases of this test process left under the prefix: not this case's to account for. */
  earlierKeys: Set<string>;
}

async function listKeys(): Promise<string[]> {
  const { config, providers } = shared();
  const keys: string[] = [];
  for await (const o of providers.storage.list(config.TELEMETRY_EXPORT_BUCKET, `${PREFIX}/`)) keys.push(o.key);
  return keys.sort();
}

/** Several manual exports at once over small batches: they contend for the same events. */
export const telemetryExport: Scenario<Exporting> = {
  process: 'telemetry export',
  stripeCalls: [],
  apiOverrides: { TELEMETRY_EXPORT_BATCH_SIZE: BATCH_SIZE },
  workerEnv: { TELEMETRY_EXPORT_PREFIX: PREFIX },
  async start(ctx) {
    const earlierKeys = new Set(await listKeys());
    const since = new Date();
    const events = makeEvents(EVENTS_PER_RUN * ctx.runs);
    expect((await ingest(ctx.api.url, tokenFor('service'), events)).status).to.equal(202);
    const runs = await times(ctx.runs, async () => {
      const res = await call(ctx.api.url, 'POST', '/api/v1/telemetry/exports', { token: tokenFor('operator') });
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      return res.body.run as RunRef;
    });
    await waitFor('a batch to be claimed', async () => ((await TelemetryExport.query(shared().db).where('createdAt', '>=', since).first()) ? true : undefined));
    return { since, eventIds: events.map((e) => e.eventId), runs, earlierKeys };
  },
  runsOf: (state) => state.runs,
  async settle(_ctx, { since, eventIds, runs, earlierKeys }, checks) {
    let exported = 0;
    for (const run of runs) exported += (await settledResult<{ events: number }>(run)).events;
    const objects = (await exportedObjectsSince(since)).filter((o) => o.key.startsWith(`${PREFIX}/`));
    const counts = occurrences(objects, eventIds);
    checks.equal([...counts].filter(([, n]) => n !== 1), [], 'every event exported exactly once (id, times)');
    checks.equal(objects.reduce((sum, o) => sum + o.eventIds.length, 0), exported, 'the runs report exactly the events in their objects');
    const written = (await listKeys()).filter((key) => !earlierKeys.has(key));
    checks.equal(written, objects.map((o) => o.key).sort(), 'the bucket holds exactly the committed objects: no orphan');
  },
};
