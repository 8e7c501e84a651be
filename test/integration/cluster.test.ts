// The production engine (SPEC §2, `make test STACK=cluster`): the real Temporal server on Postgres with
// mTLS, two API processes and two workers in namespace `default`. Runs only on the cluster: scripts/dev.sh
// exports CLUSTER_API_URLS (the two APIs) and TEMPORAL_SQL_URL (Temporal's own database) there.
import { expect } from 'chai';
import { Connection } from '@temporalio/client';
import knex, { type Knex } from 'knex';
import { readFileSync } from 'node:fs';
import { call } from '../support/http';
import { createPayment, deliverUntilAccepted, finance, stripeEvent } from '../support/payments';
import { shared } from '../support/shared';
import { waitFor } from '../support/wait';

const apiUrls = (process.env.CLUSTER_API_URLS ?? '').split(' ').filter(Boolean);
const temporalSqlUrl = process.env.TEMPORAL_SQL_URL ?? '';

/** The error a promise rejects with (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** One call that needs the frontend to answer; the connection is closed whatever happens. */
async function systemInfo(options: Parameters<typeof Connection.connect>[0]): Promise<unknown> {
  const connection = await Connection.connect({ ...options, connectTimeout: '5 seconds' });
  try {
    return await connection.workflowService.getSystemInfo({});
  } finally {
    await connection.close();
  }
}

describe('the production engine: Temporal cluster with mTLS, two APIs, two workers (STACK=cluster)', function () {
  this.timeout(180_000);
  let temporalDb: Knex | undefined;

  before(function () {
    if (apiUrls.length < 2 || !temporalSqlUrl) {
      console.log('    skipped: runs only on the cluster (make test STACK=cluster sets CLUSTER_API_URLS and TEMPORAL_SQL_URL)');
      this.skip();
    }
    temporalDb = knex({ client: 'pg', connection: temporalSqlUrl, pool: { min: 0, max: 2 } });
  });

  after(async () => {
    await temporalDb?.destroy();
  });

  it('refuses a client without TLS and one without a client certificate; the platform’s certificate is let in', async () => {
    const { TEMPORAL_ADDRESS: address, TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY } = shared().config;
    expect(TEMPORAL_TLS_CA && TEMPORAL_TLS_CERT && TEMPORAL_TLS_KEY, 'the suite runs with the mTLS client settings').to.be.a('string');
    const ca = readFileSync(TEMPORAL_TLS_CA as string);

    await rejection(systemInfo({ address }));
    await rejection(systemInfo({ address, tls: { serverRootCACertificate: ca } }));
    const clientCertPair = { crt: readFileSync(TEMPORAL_TLS_CERT as string), key: readFileSync(TEMPORAL_TLS_KEY as string) };
    expect(await systemInfo({ address, tls: { serverRootCACertificate: ca, clientCertPair } })).to.have.property('capabilities');
  });

  let workflowId = '';
  let runId = '';
  let businessKey = '';

  it('takes a payment through one API and its webhook through the other', async () => {
    const [first, second] = apiUrls as [string, string];
    const created = await createPayment(first, { amountCents: 4200 });
    expect(created.status, JSON.stringify(created.body)).to.equal(202);
    const { payment, run } = created.body;
    ({ workflowId, runId } = run as { workflowId: string; runId: string });
    businessKey = payment.id as string;

    await deliverUntilAccepted(second, stripeEvent('payment_intent.succeeded', payment.id));
    const view = await waitFor('the payment to succeed (seen through the other API)', async () => {
      const res = await call(second, 'GET', `/api/v1/payments/${payment.id}`, { token: finance() });
      return res.body.payment?.status === 'succeeded' && res.body.run?.status === 'Completed' ? res.body : undefined;
    }, 120_000);
    expect(view.payment).to.include({ amountCents: 4200 });
    expect((await call(first, 'GET', `/api/v1/payments/${payment.id}`, { token: finance() })).body.payment.status).to.equal('succeeded');
  });

  it('keeps the run’s history and visibility in Postgres (Temporal’s own databases)', async function () {
    if (!runId) this.skip(); // the payment test above failed: it says why
    const db = temporalDb as Knex;
    const hex = runId.replace(/-/g, '');
    const current = await db('current_executions').where({ workflow_id: workflowId }).select(db.raw("encode(run_id, 'hex') as run"));
    expect(current.map((row: { run: string }) => row.run)).to.include(hex);
    const [{ count }] = await db('history_node').whereRaw("encode(tree_id, 'hex') = ?", [hex]).count({ count: '*' });
    expect(Number(count), 'history events stored').to.be.greaterThan(0);

    const visibilityDb = knex({ client: 'pg', connection: `${temporalSqlUrl}_visibility`, pool: { min: 0, max: 1 } });
    try {
      const rows = await visibilityDb('executions_visibility').where({ workflow_id: workflowId, run_id: runId }).select('status', 'search_attributes');
      expect(rows).to.have.length(1);
      // SQL visibility stores custom search attributes under their mapped columns (Keyword01…), by value here.
      expect(Object.values(rows[0].search_attributes as Record<string, unknown>)).to.include.members(['payments', businessKey]);
    } finally {
      await visibilityDb.destroy();
    }
  });
});
