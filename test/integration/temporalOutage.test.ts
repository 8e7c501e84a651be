// A Temporal outage (the frontend stops answering, connections left open) answers 503 with the
// envelope within the API's gRPC deadline: no request hangs (SPEC §3, issue 13). The real API
// process talks to the real Temporal server through a TCP proxy that the test black-holes.
import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { call, tokenFor } from '../support/http';
import { shared } from '../support/shared';
import { TcpProxy } from '../support/tcpProxy';
import { killHard, startApiProcess } from '../support/workerProcess';

describe('Temporal outage (deadlines on every call)', function () {
  this.timeout(90_000);
  let proxy: TcpProxy;
  let api: { url: string; child: ChildProcess };
  const operator = tokenFor('operator');

  before(async () => {
    proxy = await TcpProxy.start(shared().config.TEMPORAL_ADDRESS);
    api = await startApiProcess({ TEMPORAL_ADDRESS: proxy.address });
  });

  after(async () => {
    await killHard(api.child);
    await proxy.close();
  });

  it('answers 503 TEMPORAL_UNAVAILABLE with Retry-After while Temporal does not answer', async () => {
    const before = await call(api.url, 'GET', '/api/v1/runs?limit=1', { token: operator });
    expect(before.status, JSON.stringify(before.body)).to.equal(200);

    proxy.blackhole();
    // The mocha timeout (well above the 10 s deadline) is what would catch a hanging request.
    const during = await call(api.url, 'GET', '/api/v1/runs?limit=1', { token: operator });
    expect(during.status).to.equal(503);
    expect(during.body).to.include({ type: 'unavailable', code: 'TEMPORAL_UNAVAILABLE' });
    expect(during.headers.get('retry-after')).to.equal('5');
  });
});
