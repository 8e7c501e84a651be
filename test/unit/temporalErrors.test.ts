import { expect } from 'chai';
import { ServiceError } from '@temporalio/client';
import Koa from 'koa';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { errorEnvelope } from '../../api/middleware/errors';
import winston from 'winston';

/** gRPC status codes (grpc-js is not a direct dependency). */
const grpcStatus = { RESOURCE_EXHAUSTED: 8, INTERNAL: 13, UNAVAILABLE: 14 } as const;

/** A gRPC failure as the Temporal client surfaces it: a ServiceError whose cause carries the status code. */
const serviceError = (code: number, details: string) =>
  new ServiceError(`service error: ${details}`, { cause: Object.assign(new Error(details), { code, details }) });

describe('Temporal service errors answer in the SPEC §3 envelope by gRPC status', () => {
  let server: Server;
  let url: string;
  let thrown: Error;

  before(async () => {
    const app = new Koa();
    app.use(async (ctx, next) => {
      ctx.state.requestId = 'req-1';
      await next();
    });
    app.use(errorEnvelope(winston.createLogger({ silent: true }))); // the 5xx cases log on purpose
    app.use(() => {
      throw thrown;
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  after(() => new Promise((resolve) => server.close(resolve)));

  it('answers ResourceExhausted (a cluster rate limit) with 429 rate_limited and Retry-After', async () => {
    thrown = serviceError(grpcStatus.RESOURCE_EXHAUSTED, 'namespace rate limit exceeded');
    const res = await fetch(url);
    expect(res.status).to.equal(429);
    expect(Number(res.headers.get('retry-after'))).to.be.greaterThan(0);
    expect(await res.json()).to.include({ type: 'rate_limited', code: 'TEMPORAL_RATE_LIMITED', requestId: 'req-1' });
  });

  it('still answers Unavailable with 503 and an unknown code with 500', async () => {
    thrown = serviceError(grpcStatus.UNAVAILABLE, 'connection refused');
    expect((await fetch(url)).status).to.equal(503);
    thrown = serviceError(grpcStatus.INTERNAL, 'boom');
    const res = await fetch(url);
    expect(res.status).to.equal(500);
    expect(res.headers.get('retry-after')).to.equal(null);
  });
});
