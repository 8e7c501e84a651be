// Encrypted histories (SPEC §3): with TEMPORAL_PAYLOAD_KEYS set, the API's client and the workers encrypt
// every payload, a plain client reading the history sees no customer data, and the codec endpoints the
// Temporal UI calls decrypt it for operators only.
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { Payment } from '../../db/models/Payment';
import type { Config } from '../../lib/config';
import { dataConverterOf } from '../../lib/dataConverter';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA_KEY } from '../../lib/payloadCodec';
import { connectClient } from '../../lib/temporal';
import { taskQueueWorkers } from '../../workers/taskQueues';
import { PAYMENTS_TASK_QUEUE } from '../../workflows/paymentCapture.contract';
import { call, tokenFor } from '../support/http';
import { createPayment } from '../support/payments';
import { nativeConnection, shared, startApi, temporalClient, workflowBundle, type TestApi } from '../support/shared';
import { waitFor } from '../support/wait';

const key = () => randomBytes(32).toString('base64');
const execFileAsync = promisify(execFile);
const TEMPORAL_CLI = path.resolve(__dirname, '../../.tools/venv/bin/temporal');

async function temporalCli(...args: string[]): Promise<string> {
  const { TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE } = shared().config;
  const { stdout } = await execFileAsync(TEMPORAL_CLI, [...args, '--address', TEMPORAL_ADDRESS, '--namespace', TEMPORAL_NAMESPACE], { timeout: 30_000 });
  return stdout;
}
const KEYS = { 'k-2026-06': key(), 'k-2026-12': key() };
const ENCRYPTION = { TEMPORAL_PAYLOAD_KEYS: JSON.stringify(KEYS), TEMPORAL_PAYLOAD_ACTIVE_KEY: 'k-2026-12' };
const b64 = (text: string) => Buffer.from(text).toString('base64');
const fromB64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');

/** A payload as the Temporal UI sends it (protobuf JSON: base64 metadata and data). */
const asJson = (payload: Payload) => ({
  metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
  data: Buffer.from(payload.data ?? []).toString('base64'),
});
const jsonPayload = (value: unknown) => asJson(defaultPayloadConverter.toPayload(value));

const UNENCODED = new Set(['searchAttributes', 'patch-data']);

/** Every payload of a history in protobuf JSON, wherever it sits (inputs, results, summaries, failures). */
function payloadsOf(node: unknown, found: Array<{ metadata: Record<string, string>; data?: string }> = []) {
  if (Array.isArray(node)) node.forEach((item) => payloadsOf(item, found));
  else if (node && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    if (record.metadata && typeof record.metadata === 'object' && 'encoding' in record.metadata) {
      found.push(record as { metadata: Record<string, string>; data?: string });
    } else {
      // Search attributes are indexed by the server; patch markers and a local activity marker's own `data` (seq,
      // attempt, activity id and type, times) are written by the SDK's core. None is encoded and all hold ids only
      // (Domain, BusinessKey, a patch id, an activity type); the local activity's `result` is ours and is encoded.
      for (const [name, value] of Object.entries(record).filter(([key]) => !UNENCODED.has(key))) {
        const localActivityDetails = name === 'details' && record.markerName === 'core_local_activity';
        payloadsOf(localActivityDetails ? { ...(value as object), data: undefined } : value, found);
      }
    }
  }
  return found;
}

describe('payload encryption and the codec endpoints (SPEC §3)', () => {
  let encrypted: Client;
  let api: TestApi;
  const operator = () => tokenFor('operator');
  const codecCall = (path: string, payloads: unknown[], token = operator()) =>
    call(api.url, 'POST', `/api/v1/temporal-codec/${path}`, { token, body: { payloads } });

  before(async () => {
    const config: Config = { ...shared().config, ...ENCRYPTION };
    encrypted = await connectClient(config);
    api = await startApi({ ...ENCRYPTION, RATE_LIMIT_BURST: 10000 }, encrypted);
  });
  after(async () => {
    await encrypted.connection.close();
  });

  /** A payments worker with the same encrypting data converter as the API. */
  async function encryptingPaymentsWorker(): Promise<Worker> {
    const { config, db, providers } = shared();
    const entry = taskQueueWorkers(config, db, providers).find((w) => w.taskQueue === PAYMENTS_TASK_QUEUE);
    return Worker.create({
      connection: await nativeConnection(),
      namespace: config.TEMPORAL_NAMESPACE,
      taskQueue: PAYMENTS_TASK_QUEUE,
      workflowBundle: await workflowBundle(),
      activities: entry?.activities,
      dataConverter: dataConverterOf({ ...config, ...ENCRYPTION }),
      shutdownGraceTime: '5 seconds',
    });
  }

  /**
   * Deletes a run encrypted with this file's throwaway keys, and waits until visibility no longer lists it:
   * whatever else lists payment runs in this namespace (drift, reconciliation) could not read it.
   */
  async function forget(workflowId: string, runId: string): Promise<void> {
    const namespace = shared().config.TEMPORAL_NAMESPACE;
    await encrypted.workflowService.deleteWorkflowExecution({ namespace, workflowExecution: { workflowId, runId } });
    await waitFor(`run ${runId} deleted`, async () => {
      const { count } = await encrypted.workflow.count(`WorkflowId = "${workflowId}"`);
      return count === 0 ? true : undefined;
    });
  }

  it('leaves no plaintext customer id in a history a plain client reads; the UI’s codec call decodes it', async () => {
    const customerId = `cus-secret-${randomUUID()}`;
    const created = await createPayment(api.url, { customerId, description: `order of ${customerId}` });
    expect(created.status).to.equal(202);
    const paymentId = created.body.payment.id as string;
    const workflowId = created.body.run.workflowId as string;
    const runId = created.body.run.runId as string;
    let history;
    try {
      // The worker decrypts the input and encrypts what its activities return: the intent gets recorded.
      const worker = await encryptingPaymentsWorker();
      await worker.runUntil(
        waitFor('the payment intent', async () => ((await Payment.query(shared().db).findById(paymentId))?.stripePaymentIntentId ? true : undefined)),
      );
      await encrypted.workflow.getHandle(workflowId).terminate('codec test done');
      history = await (await temporalClient()).workflow.getHandle(workflowId).fetchHistory();
      // Temporal's own CLI, a codec-server client as the UI is, shows the decrypted input.
      const shown = await temporalCli('workflow', 'show', '-w', workflowId, '-o', 'json',
        '--codec-endpoint', `${api.url}/api/v1/temporal-codec`, '--codec-auth', `Bearer ${operator()}`);
      expect(shown).to.include(paymentId).and.not.include(customerId);
    } finally {
      await forget(workflowId, runId);
    }

    const json = historyToJSON(history);
    expect(json).to.not.include(customerId);
    const payloads = payloadsOf(JSON.parse(json));
    expect(payloads.length, 'payloads in the history').to.be.greaterThan(2);
    for (const payload of payloads) {
      expect(fromB64(payload.metadata.encoding)).to.equal(ENCRYPTED_ENCODING);
      expect(fromB64(payload.metadata[KEY_ID_METADATA_KEY])).to.equal('k-2026-12');
      expect(fromB64(payload.data ?? '')).to.not.include(customerId).and.not.include(paymentId);
    }

    // What the Temporal UI does with an operator's token: its origin, its namespace header, the payloads.
    const decoded = await call(api.url, 'POST', '/api/v1/temporal-codec/decode', {
      token: operator(),
      headers: { Origin: 'http://127.0.0.1:8233', 'X-Namespace': shared().config.TEMPORAL_NAMESPACE },
      body: { payloads },
    });
    expect(decoded.status).to.equal(200);
    expect(decoded.headers.get('access-control-allow-origin')).to.equal('http://127.0.0.1:8233');
    const texts = (decoded.body.payloads as Array<{ metadata: Record<string, string>; data: string }>).map((p) => fromB64(p.data));
    expect(texts).to.have.length(payloads.length);
    expect(texts.join('\n')).to.include(paymentId).and.not.include(customerId); // the summary names the payment only
    const encodings = (decoded.body.payloads as Array<{ metadata: Record<string, string> }>).map((p) => fromB64(p.metadata.encoding));
    expect(encodings).to.include('json/plain').and.not.include(ENCRYPTED_ENCODING);
  });

  it('encodes with the active key and decodes what any configured key encrypted (rotation)', async () => {
    const secret = { customerId: `cus-${randomUUID()}` };
    const encoded = await codecCall('encode', [jsonPayload(secret)]);
    expect(encoded.status).to.equal(200);
    const [sealed] = encoded.body.payloads as Array<{ metadata: Record<string, string>; data: string }>;
    expect(fromB64(sealed.metadata[KEY_ID_METADATA_KEY])).to.equal('k-2026-12');
    expect(fromB64(sealed.data)).to.not.include(secret.customerId);

    const [older] = await new AesGcmPayloadCodec(KEYS, 'k-2026-06').encode([defaultPayloadConverter.toPayload(secret)]);
    const olderJson = asJson(older);
    const plain = jsonPayload('already plain');
    const decoded = await codecCall('decode', [sealed, olderJson, plain], tokenFor('support'));
    expect(decoded.status).to.equal(200);
    expect(decoded.body.payloads.map((p: { data: string }) => fromB64(p.data))).to.deep.equal([
      JSON.stringify(secret), JSON.stringify(secret), '"already plain"',
    ]);
  });

  it('answers a payload of an unknown key id, or a tampered one, with a clear 422', async () => {
    const [retired] = await new AesGcmPayloadCodec({ 'k-2025-01': key() }, 'k-2025-01').encode([defaultPayloadConverter.toPayload('x')]);
    const unknown = await codecCall('decode', [{
      metadata: { encoding: b64(ENCRYPTED_ENCODING), [KEY_ID_METADATA_KEY]: b64('k-2025-01') },
      data: Buffer.from(retired.data ?? []).toString('base64'),
    }]);
    expect(unknown.status).to.equal(422);
    expect(unknown.body).to.include({ type: 'validation_error', code: 'PAYLOAD_KEY_UNKNOWN' });
    expect(unknown.body.message).to.include('"k-2025-01"');

    const tampered = await codecCall('decode', [{
      metadata: { encoding: b64(ENCRYPTED_ENCODING), [KEY_ID_METADATA_KEY]: b64('k-2026-12') },
      data: randomBytes(64).toString('base64'),
    }]);
    expect(tampered.status).to.equal(422);
    expect(tampered.body.code).to.equal('PAYLOAD_UNDECRYPTABLE');
  });

  it('refuses metadata that is not base64 text, whatever its key, with a 400 (a key with a line break got a 500 once)', async () => {
    for (const metadata of [{ 'a\nb': { nested: 'x' } }, { encoding: { nested: 'x' } }, { encoding: 'not base64!' }]) {
      for (const path of ['encode', 'decode']) {
        const res = await codecCall(path, [{ metadata, data: '' }]);
        expect(res.status, `${path} ${JSON.stringify(metadata)}`).to.equal(400);
        expect(res.body.type).to.equal('validation_error');
      }
    }
  });

  it('serves operator, support and admin only', async () => {
    for (const path of ['encode', 'decode']) {
      expect((await codecCall(path, [], tokenFor('learner'))).status, path).to.equal(403);
      expect((await codecCall(path, [], tokenFor('finance'))).status, path).to.equal(403);
      expect((await call(api.url, 'POST', `/api/v1/temporal-codec/${path}`, { body: { payloads: [] } })).status, path).to.equal(401);
      expect((await codecCall(path, [], tokenFor('admin'))).status, path).to.equal(200);
      const none = await call(api.url, 'POST', `/api/v1/temporal-codec/${path}`, { token: tokenFor('support'), body: {} });
      expect(none.body, path).to.deep.equal({ payloads: [] });
    }
    expect((await codecCall('decode', [{ data: 'not base64!' }])).status).to.equal(400);
  });

  it('lets the Temporal UI’s origin (only) preflight the codec routes, with its namespace header and credentials', async () => {
    const preflight = (origin: string, path = '/api/v1/temporal-codec/decode') =>
      fetch(`${api.url}${path}`, {
        method: 'OPTIONS',
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type,x-namespace' },
        signal: AbortSignal.timeout(10_000),
      });
    const ui = await preflight('http://127.0.0.1:8233');
    expect(ui.status).to.equal(204);
    expect(ui.headers.get('access-control-allow-origin')).to.equal('http://127.0.0.1:8233');
    expect(ui.headers.get('access-control-allow-headers')).to.include('x-namespace').and.include('authorization');
    expect(ui.headers.get('access-control-allow-credentials')).to.equal('true');
    expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).to.equal(null);
    // The rest of the API keeps its own allow-list (empty by default).
    expect((await preflight('http://127.0.0.1:8233', '/api/v1/assets')).headers.get('access-control-allow-origin')).to.equal(null);
  });

  it('is the identity while payload encryption is off (the default)', async () => {
    const plainApi = await startApi({ TEMPORAL_PAYLOAD_KEYS: undefined, TEMPORAL_PAYLOAD_ACTIVE_KEY: undefined });
    const payload = jsonPayload({ customerId: 'cus-1' });
    const encoded = await call(plainApi.url, 'POST', '/api/v1/temporal-codec/encode', { token: operator(), body: { payloads: [payload] } });
    expect(encoded.status).to.equal(200);
    expect(encoded.body.payloads).to.deep.equal([payload]);
  });
});
