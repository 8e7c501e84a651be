import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { EXPORT_CHECKPOINT, TelemetryCheckpoint, TelemetryExport } from '../../db/models/Telemetry';
import { call, tokenFor } from '../support/http';
import { shared, startApi, temporalClient } from '../support/shared';
import { expectExactlyOnce, exportedObjectsSince, ingest, makeEvents } from '../support/telemetry';
import { killHard, startWorkerProcess } from '../support/workerProcess';
import { waitFor } from '../support/wait';

const BATCH_SIZE = 20;

/** Whether another session waits for the checkpoint row lock: the export's commit, blocked right after its upload. */
async function commitIsWaiting(db: Knex): Promise<boolean> {
  const { rows } = (await db.raw(
    `SELECT count(*)::int AS n FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'
       AND query ILIKE '%telemetry_checkpoints%for update%'`,
  )) as { rows: Array<{ n: number }> };
  return rows[0].n > 0;
}

async function listKeys(prefix: string): Promise<string[]> {
  const { config, providers } = shared();
  const keys: string[] = [];
  for await (const o of providers.storage.list(config.TELEMETRY_EXPORT_BUCKET, `${prefix}/`)) keys.push(o.key);
  return keys.sort();
}

describe('chaos: SIGKILL the worker between an export object and its checkpoint (SPEC §6)', () => {
  const workers: ChildProcess[] = [];
  let checkpointLock: Knex.Transaction | undefined;
  afterEach(async () => {
    await checkpointLock?.rollback();
    for (const w of workers.splice(0)) await killHard(w);
  });

  it('the retried batch overwrites its own object: every event is in exactly one object', async () => {
    const { db } = shared();
    const since = new Date();
    // A prefix of its own: every object this test's workers write can be listed from the bucket.
    const prefix = `chaos-${randomUUID()}`;
    const api = await startApi({ TELEMETRY_EXPORT_BATCH_SIZE: BATCH_SIZE });
    const events = makeEvents(BATCH_SIZE * 2 + 5);
    expect((await ingest(api.url, tokenFor('service'), events)).status).to.equal(202);

    // Holding the checkpoint row lock lets the worker claim a batch and write its object,
    // then stops it at the first statement of the commit, where it is killed.
    checkpointLock = await db.transaction();
    await TelemetryCheckpoint.query(checkpointLock).findById(EXPORT_CHECKPOINT).forUpdate();
    const started = await call(api.url, 'POST', '/api/v1/telemetry/exports', { token: tokenFor('operator') });
    expect(started.status).to.equal(202);
    const { workflowId } = started.body.run;

    const first = startWorkerProcess({ TELEMETRY_EXPORT_PREFIX: prefix });
    workers.push(first);
    const [written] = await waitFor('an object written and its commit waiting', async () => {
      const keys = await listKeys(prefix);
      return keys.length > 0 && (await commitIsWaiting(db)) ? keys : undefined;
    });
    await killHard(first);
    const batch = await TelemetryExport.query(db).where('key', written).first();
    expect(batch?.committedAt, 'the batch is claimed and its commit must not have happened').to.equal(null);
    await checkpointLock.rollback();
    checkpointLock = undefined;

    workers.push(startWorkerProcess({ TELEMETRY_EXPORT_PREFIX: prefix }));
    const client = await temporalClient();
    const result = await client.workflow.getHandle(workflowId).result();
    expect(result.events).to.be.greaterThanOrEqual(events.length);

    const objects = (await exportedObjectsSince(since)).filter((o) => o.key.startsWith(`${prefix}/`));
    expectExactlyOnce(objects, events.map((e) => e.eventId));
    // No orphan: what is in the bucket is exactly what was committed, the interrupted key included.
    expect(await listKeys(prefix)).to.deep.equal(objects.map((o) => o.key).sort());
    expect(objects.map((o) => o.key)).to.include(written);
  });
});
