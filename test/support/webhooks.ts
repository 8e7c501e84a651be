// A webhook receiver on 127.0.0.1 for the notification tests: it records every request and
// answers what the test tells it to (a status, or never, to time the sender out).
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { call, tokenFor } from './http';
import { shared } from './shared';
import { startDispatcher, type Dispatcher } from '../../workers/dispatcher';
import { logger } from '../../lib/logger';

export interface ReceivedWebhook {
  /** The request path: each test endpoint has its own. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  event: { id: string; type: string; createdAt: string; data: Record<string, any> };
  answered: number | 'hung';
}

/** What to answer a request: a status code, or 'hang' (never answer). */
export type Answer = number | 'hang';

export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  answer: (webhook: Omit<ReceivedWebhook, 'answered'>) => Answer = () => 200;

  private readonly server: Server;
  url = '';

  private constructor() {
    this.server = createServer((req, res) => this.receive(req, res));
  }

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    receiver.server.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => receiver.server.once('listening', () => resolve()));
    receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}/hooks`;
    return receiver;
  }

  private receive(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const webhook = { path: req.url ?? '', headers: req.headers, body, event: JSON.parse(body) as ReceivedWebhook['event'] };
      const answer = this.answer(webhook);
      this.received.push({ ...webhook, answered: answer === 'hang' ? 'hung' : answer });
      if (answer !== 'hang') res.writeHead(answer).end('ok');
    });
  }

  /** A URL of its own for one endpoint. */
  endpointUrl(): string {
    return `${this.url}/${randomUUID()}`;
  }

  /** What arrived about one event (at one endpoint's URL when given). */
  about(eventId: string, url?: string): ReceivedWebhook[] {
    return this.received.filter((w) => w.event.id === eventId && (url === undefined || url.endsWith(w.path)));
  }

  /** What arrived of one type about a resource (`data.<kind>.id`). */
  matching(type: string, resourceId: string): ReceivedWebhook[] {
    return this.received.filter((w) => w.event.type === type && Object.values(w.event.data).some((r: { id?: string }) => r?.id === resourceId));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export const admin = () => tokenFor('admin');

/** Registers an endpoint for `events` through the API; answers it with its secret. */
export async function registerEndpoint(apiUrl: string, url: string, events: string[]): Promise<{ id: string; secret: string }> {
  const res = await call(apiUrl, 'POST', '/api/v1/webhook-endpoints', { token: admin(), body: { url, events } });
  if (res.status !== 201) throw new Error(`endpoint not created: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.endpoint as { id: string; secret: string };
}

/** The dispatcher as a worker runs it, on the shared pool and client, retrying after `retryScheduleSeconds`. */
export function dispatcherFor(client: Client, retryScheduleSeconds: number[] = [1, 1, 1]): Dispatcher {
  const { config, db } = shared();
  return startDispatcher({ ...config, WEBHOOK_DISPATCH_INTERVAL_MS: 100, WEBHOOK_RETRY_SCHEDULE_SECONDS: retryScheduleSeconds }, db, client, logger);
}
