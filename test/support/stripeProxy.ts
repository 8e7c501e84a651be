// A recording, fault-injecting HTTP proxy in front of the real stripe-mock.
// stripe-mock cannot fail, so failure paths go through this proxy: it answers
// some requests itself (declines, 500s), delays or holds others, and logs every
// request with its idempotency key. The Stripe client under test is never mocked.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  forwarded: boolean;
}

export interface FaultRule {
  method: string;
  path: RegExp;
  /** How many matching requests the rule applies to (Infinity: all). */
  times: number;
  /** Answer with this instead of forwarding. */
  respond?: { status: number; body: unknown };
  /** Forward after this long (longer than the client's timeout makes it time out). */
  delayMs?: number;
  /** Forward, but never answer: the caller sees the request vanish after Stripe processed it. */
  hold?: boolean;
  /** Drop the connection without an answer, before Stripe sees the request (a reset mid-request). */
  reset?: boolean;
}

export const cardDeclined = (declineCode: string) => ({
  status: 402,
  body: { error: { type: 'card_error', code: 'card_declined', decline_code: declineCode, message: `Your card was declined (${declineCode}).` } },
});
export const stripeOutage = { status: 500, body: { error: { type: 'api_error', message: 'Injected Stripe outage' } } };

export class StripeProxy {
  readonly requests: RecordedRequest[] = [];
  private readonly rules: FaultRule[] = [];
  private readonly held: http.ServerResponse[] = [];

  private readonly server = http.createServer((req, res) => void this.handle(req, res));

  private constructor(private readonly target: URL) {}

  static async start(target: string): Promise<StripeProxy> {
    const proxy = new StripeProxy(new URL(target));
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Responses forwarded to stripe-mock and held back from the caller. */
  get heldCount(): number {
    return this.held.length;
  }

  /** How many faulted requests the injected rules still wait for. */
  get faultsLeft(): number {
    return this.rules.reduce((sum, r) => sum + r.times, 0);
  }

  inject(rule: FaultRule): void {
    this.rules.push({ ...rule });
  }

  matching(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  async close(): Promise<void> {
    for (const res of this.held.splice(0)) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private takeRule(method: string, path: string): FaultRule | undefined {
    const rule = this.rules.find((r) => r.times > 0 && r.method === method && r.path.test(path));
    if (rule) rule.times -= 1;
    return rule;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const rule = this.takeRule(method, path);
    const key = req.headers['idempotency-key'];
    this.requests.push({ method, path, idempotencyKey: typeof key === 'string' ? key : null, forwarded: !rule?.respond && !rule?.reset });
    if (rule?.reset) {
      req.socket.resetAndDestroy();
      return;
    }
    if (rule?.respond) {
      res.writeHead(rule.respond.status, { 'Content-Type': 'application/json', 'Request-Id': 'req_injected' });
      res.end(JSON.stringify(rule.respond.body));
      return;
    }
    if (rule?.delayMs) await new Promise((r) => setTimeout(r, rule.delayMs));
    const upstream = await this.forward(method, path, req.headers, Buffer.concat(chunks));
    if (rule?.hold) {
      this.held.push(res);
      return;
    }
    if (res.destroyed) return;
    res.writeHead(upstream.status, upstream.headers);
    res.end(upstream.body);
  }

  private forward(method: string, path: string, headers: http.IncomingHttpHeaders, body: Buffer) {
    return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const req = http.request(
        { host: this.target.hostname, port: this.target.port, method, path, headers: { ...headers, host: this.target.host }, timeout: 10000 },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(parts) }));
        },
      );
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('stripe-mock did not answer')));
      req.end(body);
    });
  }
}
