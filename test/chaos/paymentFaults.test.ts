// Issue 13's measurement as a test: twenty automatic payments in flight, the Temporal server SIGKILLed
// and restarted, then Postgres SIGKILLed and restarted while Stripe's success webhooks arrive. Every
// payment the workflow reports succeeded is recorded succeeded, with its postings once and the ledger
// balanced: an acknowledged commit survives the crash (SPEC §2, §6).
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { LedgerEntry, Payment } from '../../db/models/Payment';
import { createPayment, deliverUntilAccepted, ledgerImbalance, stripeEvent } from '../support/payments';
import { shared, startApi, temporalClient } from '../support/shared';
import { crashAndRestart, killPart, notCrashable, startPart } from '../support/stackParts';
import { waitFor } from '../support/wait';
import { killHard, startWorkerProcess } from '../support/workerProcess';

const PAYMENTS = 20;
const AMOUNT_CENTS = 5000;

describe('chaos: Temporal and Postgres SIGKILLed while payments are in flight (issue 13)', function () {
  this.timeout(360_000);
  let worker: ChildProcess | undefined;

  before(function () {
    const reason = notCrashable('temporal') ?? notCrashable('postgres');
    if (reason) {
      console.log(`      skipped: ${reason}`);
      this.skip();
    }
  });

  after(async () => {
    if (worker) await killHard(worker);
  });

  it(`records all ${PAYMENTS} payments succeeded, each posting once, the ledger balanced`, async () => {
    const api = await startApi({ RATE_LIMIT_BURST: 100_000 });
    worker = startWorkerProcess();
    const created = await Promise.all(Array.from({ length: PAYMENTS }, () => createPayment(api.url, { amountCents: AMOUNT_CENTS })));
    const payments = created.map((res) => {
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      return res.body as { payment: { id: string }; run: { workflowId: string } };
    });
    const ids = payments.map((p) => p.payment.id);
    await waitFor('every PaymentIntent to be created', async () =>
      (await Payment.query(shared().db).whereIn('id', ids).whereNotNull('stripePaymentIntentId')).length === PAYMENTS ? true : undefined,
    );

    await crashAndRestart('temporal');

    // Postgres dies while the success webhooks arrive; the webhooks are retried until accepted.
    const events = ids.map((id) => stripeEvent('payment_intent.succeeded', id));
    const deliveries = events.map((event) => deliverUntilAccepted(api.url, event));
    await killPart('postgres');
    await startPart('postgres');
    await Promise.all(deliveries);

    const client = await temporalClient();
    const results = await Promise.all(payments.map((p) => client.workflow.getHandle(p.run.workflowId).result()));
    expect(results.map((r) => r.status)).to.deep.equal(Array(PAYMENTS).fill('succeeded'));

    const rows = await Payment.query(shared().db).whereIn('id', ids);
    expect(rows.map((r) => r.status)).to.deep.equal(Array(PAYMENTS).fill('succeeded'));
    for (const id of ids) {
      const postings = await LedgerEntry.query(shared().db).where({ paymentId: id });
      expect(postings.map((p) => `${p.direction}:${p.account}:${p.amountCents}`).sort(), `postings of ${id}`).to.deep.equal([
        `credit:revenue:${AMOUNT_CENTS}`,
        `debit:stripe_balance:${AMOUNT_CENTS}`,
      ]);
      expect(await ledgerImbalance(id), `ledger of ${id}`).to.equal(0);
    }
  });
});
