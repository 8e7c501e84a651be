import { expect } from 'chai';
import { ASSETS_TASK_QUEUE } from '../../workflows/assetConversion.contract';
import { readFixture, uploadAsset } from '../support/assets';
import { call, tokenFor } from '../support/http';
import { createWorker, startApi, type TestApi } from '../support/shared';

interface Frame {
  id?: string;
  event?: string;
  data?: any;
}

/** Parses a text/event-stream body into its frames (comments dropped). */
function framesOf(text: string): Frame[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() && !block.startsWith(':'))
    .map((block) => {
      const frame: Frame = {};
      for (const line of block.split('\n')) {
        const [field, ...rest] = line.split(': ');
        const value = rest.join(': ');
        if (field === 'data') frame.data = JSON.parse(value);
        else if (field === 'id' || field === 'event') frame[field] = value;
      }
      return frame;
    });
}

describe('run progress over Server-Sent Events (SPEC §4.7)', () => {
  let api: TestApi;
  const instructorSub = `instructor-sse`;
  const instructor = tokenFor('instructor', instructorSub);

  before(async () => {
    api = await startApi({ RATE_LIMIT_BURST: 10000 });
  });

  const progressUrl = (workflowId: string) => `${api.url}/api/v1/runs/${encodeURIComponent(workflowId)}/progress`;
  const follow = (workflowId: string, token: string, headers: Record<string, string> = {}) =>
    fetch(progressUrl(workflowId), { headers: { Authorization: `Bearer ${token}`, ...headers }, signal: AbortSignal.timeout(120_000) });

  it('streams an asset conversion until `end` with its final status; a reconnect after the end gets 204', async () => {
    const uploaded = await uploadAsset(api.url, instructor, 'lecture.pdf', await readFixture('lecture.pdf'));
    const ingest = await call(api.url, 'POST', `/api/v1/assets/${uploaded.id}/ingest`, { token: instructor });
    expect(ingest.status).to.equal(202);
    const { workflowId } = ingest.body.run as { workflowId: string };

    // A learner may not follow the run of an asset that is not ready.
    expect((await follow(workflowId, tokenFor('learner'))).status).to.equal(403);

    const res = await follow(workflowId, instructor);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/event-stream/);
    const worker = await createWorker(ASSETS_TASK_QUEUE);
    const text = await worker.runUntil(res.text());

    const frames = framesOf(text);
    const progress = frames.filter((f) => f.event === 'progress');
    const end = frames[frames.length - 1];
    expect(progress.length, text).to.be.greaterThan(0);
    expect(progress[0].data).to.have.keys('stage', 'percent', 'detail');
    expect(end).to.deep.include({ event: 'end', data: { status: 'Completed' } });
    const ids = frames.map((f) => Number(f.id));
    expect(ids).to.deep.equal([...ids].sort((a, b) => a - b));
    expect(frames.filter((f) => f.event === 'end')).to.have.length(1);

    const reconnect = await follow(workflowId, instructor, { 'Last-Event-ID': String(end.id) });
    expect(reconnect.status).to.equal(204);
    // A first connection to a closed run answers its last progress and `end` at once.
    const late = framesOf(await (await follow(workflowId, tokenFor('operator'))).text());
    expect(late.map((f) => f.event)).to.deep.equal(['progress', 'end']);
    expect(late[0].data).to.include({ stage: 'ready', percent: 100 });
  });

  it('answers 404 for an unknown run', async () => {
    expect((await follow('asset-conversion:nothing-here', tokenFor('admin'))).status).to.equal(404);
  });
});
