// Sends one signed webhook: to the address already checked (never re-resolved), no
// redirects followed, 10 s in all, at most 64 KiB of the answer read.
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { CheckedAddress } from '../services/notifications/urls';

export const WEBHOOK_TIMEOUT_MS = 10_000;
const MAX_ANSWER_BYTES = 64 * 1024;

export interface SendResult {
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

/** Every lookup answers the checked address, so the connection goes where the check looked. */
function pinnedLookup(target: CheckedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
}

export function sendWebhook(target: CheckedAddress, headers: Record<string, string>, body: string, timeoutMs = WEBHOOK_TIMEOUT_MS): Promise<SendResult> {
  const started = Date.now();
  const transport = target.url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (statusCode: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ statusCode, latencyMs: Date.now() - started, error });
    };
    const req = transport.request(
      target.url,
      {
        method: 'POST',
        lookup: pinnedLookup(target),
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'edulure-flow-webhooks' },
      },
      (res) => {
        const status = res.statusCode ?? null;
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read >= MAX_ANSWER_BYTES) res.destroy();
        });
        const done = () => finish(status, status !== null && status >= 200 && status < 300 ? null : `HTTP ${status}`);
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      finish(null, `timed out after ${timeoutMs} ms`);
    }, timeoutMs);
    req.on('error', (err) => finish(null, err.message));
    req.end(body);
  });
}
