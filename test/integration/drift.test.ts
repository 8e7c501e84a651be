// Drift (SPEC §4, §4.2): each record keeps the status its run closed with; a record changed
// after its run closed, other than as its process allows, is reported by GET /runs/drift,
// `npm run ops -- drift` and, for payments, the billing reconciliation.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Asset } from '../../db/models/Asset';
import { Payment, Refund } from '../../db/models/Payment';
import type { DriftItem } from '../../schemas/runs';
import { BILLING_RECONCILIATION_WORKFLOW } from '../../workflows/billingReconciliation.contract';
import { PAYMENTS_TASK_QUEUE } from '../../workflows/paymentCapture.contract';
import { call, tokenFor } from '../support/http';
import { convertedAsset } from '../support/ops';
import { createPayment, finance, postWebhook, stripeEvent } from '../support/payments';
import { createWorker, shared, startApi, temporalClient, type TestApi } from '../support/shared';
import { compiledEntrypoint } from '../support/workerProcess';

const ROOT = path.resolve(__dirname, '../..');

describe('drift: records against their closed runs (SPEC §4, issue 13)', function () {
  this.timeout(180_000);
  let api: TestApi;
  let since: string;
  let assetId: string;
  let plantedPaymentId: string;
  let refundedPaymentId: string;
  let refundId: string;

  const db = () => shared().db;
  const resultOf = async (workflowId: string) => (await temporalClient()).workflow.getHandle(workflowId).result();

  /** A payment taken to succeeded by a signed webhook, its run closed. */
  async function succeededPayment(amountCents: number): Promise<string> {
    const { payment, run } = (await createPayment(api.url, { amountCents })).body;
    const worker = await createWorker(PAYMENTS_TASK_QUEUE);
    await worker.runUntil(async () => {
      await postWebhook(api.url, stripeEvent('payment_intent.succeeded', payment.id));
      await resultOf(run.workflowId);
    });
    return payment.id as string;
  }

  /** Our own items of the drift list (other suites share this namespace). */
  const ours = (items: DriftItem[]) =>
    items.filter((d) => [`asset-conversion:${assetId}`, `payment:${plantedPaymentId}`, `payment:${refundedPaymentId}`].includes(d.workflowId) || d.recordId === refundId);

  const drift = (query: string, role: 'operator' | 'admin' | 'support' | 'learner' = 'operator') =>
    call<{ items: DriftItem[]; nextCursor: null }>(api.url, 'GET', `/api/v1/runs/drift?${query}`, { token: tokenFor(role) });

  before(async () => {
    api = await startApi({ RATE_LIMIT_BURST: 10000 });
    since = new Date(Date.now() - 1000).toISOString();
    assetId = (await convertedAsset(api.url)).assetId;
    plantedPaymentId = await succeededPayment(5000);
    refundedPaymentId = await succeededPayment(10000);
    const refund = await call(api.url, 'POST', `/api/v1/payments/${refundedPaymentId}/refunds`, {
      token: finance(),
      headers: { 'Idempotency-Key': randomUUID() },
      body: { amountCents: 3000 },
    });
    expect(refund.status, JSON.stringify(refund.body)).to.equal(202);
    refundId = refund.body.refund.id;
    const worker = await createWorker(PAYMENTS_TASK_QUEUE);
    await worker.runUntil(() => resultOf(refund.body.run.workflowId));
  });

  it('each record keeps the status its run closed with, and a refund leaves the payment’s closed status alone', async () => {
    expect(await Asset.query(db()).findById(assetId)).to.include({ status: 'ready', closedStatus: 'ready' });
    expect(await Payment.query(db()).findById(plantedPaymentId)).to.include({ status: 'succeeded', closedStatus: 'succeeded' });
    expect(await Payment.query(db()).findById(refundedPaymentId)).to.include({ status: 'partially_refunded', closedStatus: 'succeeded' });
    expect(await Refund.query(db()).findById(refundId)).to.include({ status: 'succeeded', closedStatus: 'succeeded' });
  });

  it('nothing of ours drifts before a record is changed behind its run’s back', async () => {
    const res = await drift(`since=${encodeURIComponent(since)}`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(ours(res.body.items)).to.deep.equal([]);
  });

  describe('after records are changed behind their closed runs', () => {
    before(async () => {
      await Asset.query(db()).findById(assetId).patch({ status: 'failed' });
      await Payment.query(db()).findById(plantedPaymentId).patch({ status: 'pending' });
    });

    it('GET /runs/drift lists exactly the planted disagreements, not the legal refund', async () => {
      const res = await drift(`since=${encodeURIComponent(since)}`);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const found = ours(res.body.items).sort((a, b) => a.recordKind.localeCompare(b.recordKind));
      expect(found.map((d) => d.workflowId)).to.deep.equal([`asset-conversion:${assetId}`, `payment:${plantedPaymentId}`]);
      expect(found[0]).to.include({ type: 'assetConversion', recordKind: 'asset', recordId: assetId, runStatus: 'Completed', recordStatus: 'failed', closedStatus: 'ready' });
      expect(found[0].runResult).to.include({ assetId, status: 'ready' });
      expect(found[1]).to.include({ type: 'paymentCapture', recordKind: 'payment', recordId: plantedPaymentId, recordStatus: 'pending', closedStatus: 'succeeded' });
      expect(found[1].problem).to.match(/pending.*succeeded/);
      expect(found[1].runId).to.be.a('string').and.not.equal('');
    });

    it('filters by type', async () => {
      const res = await drift(`type=paymentCapture&since=${encodeURIComponent(since)}`);
      expect(res.status).to.equal(200);
      expect(ours(res.body.items).map((d) => d.workflowId)).to.deep.equal([`payment:${plantedPaymentId}`]);
      expect(res.body.items.every((d) => d.type === 'paymentCapture')).to.equal(true);
      const bad = await call(api.url, 'GET', '/api/v1/runs/drift?type=telemetryExport', { token: tokenFor('operator') });
      expect([bad.status, bad.body.type]).to.deep.equal([400, 'validation_error']);
    });

    it('is for operators and admins only', async () => {
      const q = `type=refund&since=${encodeURIComponent(new Date().toISOString())}`;
      expect((await drift(q, 'admin')).status).to.equal(200);
      expect((await drift(q, 'learner')).status).to.equal(403);
      expect((await drift(q, 'support')).status).to.equal(403);
      expect((await call(api.url, 'GET', `/api/v1/runs/drift?${q}`)).status).to.equal(401);
    });

    it('`npm run ops -- drift` prints the drift and exits 3; none found exits 0', async () => {
      const ops = (...args: string[]) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          const argv = [compiledEntrypoint('scripts/ops.ts'), 'drift', ...args, '--api', api.url, '--token', tokenFor('operator')];
          execFile(process.execPath, argv, { cwd: ROOT, env: process.env, timeout: 120_000 }, (err, stdout, stderr) =>
            resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
          );
        });
      const found = await ops('--type', 'paymentCapture', '--since', since);
      expect(found.code, found.stderr).to.equal(3);
      expect(found.stdout).to.include(`payment:${plantedPaymentId}`).and.include('pending');
      expect(found.stdout).not.to.include(`payment:${refundedPaymentId}`);
      const none = await ops('--type', 'refund', '--since', new Date().toISOString());
      expect(none.code, none.stderr).to.equal(0);
      expect(none.stdout).to.match(/no drift/);
    });

    it('billing reconciliation stores a run_record_mismatch for the planted payment only', async () => {
      const worker = await createWorker(PAYMENTS_TASK_QUEUE);
      const client = await temporalClient();
      await worker.runUntil(() =>
        client.workflow.execute(BILLING_RECONCILIATION_WORKFLOW, { taskQueue: PAYMENTS_TASK_QUEUE, workflowId: `reconciliation-drift-${randomUUID()}` }),
      );
      const res = await call(api.url, 'GET', '/api/v1/payments/reconciliation/anomalies?kind=run_record_mismatch&limit=200', { token: finance() });
      expect(res.status).to.equal(200);
      const items = res.body.items as Array<{ reference: string; paymentId: string | null; detail: string }>;
      const planted = items.find((a) => a.reference === `payment:${plantedPaymentId}`);
      expect(planted, JSON.stringify(items)).to.include({ paymentId: plantedPaymentId });
      expect(planted?.detail).to.match(/pending/);
      expect(items.some((a) => a.paymentId === refundedPaymentId)).to.equal(false);
    });
  });
});
