import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createMeilisearchIndex, type SearchIndex } from '../../providers/search';

describe('Meilisearch index', function () {
  this.timeout(60_000);
  const host = process.env.MEILISEARCH_HOST;
  const indexName = `unit_tests_${randomUUID().replace(/-/g, '')}`;
  let search: SearchIndex;

  before(function () {
    if (!host) {
      console.log('      skipped: MEILISEARCH_HOST is not set (search falls back to Postgres there)');
      this.skip();
    }
    search = createMeilisearchIndex({ host, apiKey: process.env.MEILISEARCH_API_KEY, timeoutMs: 10_000, indexName });
  });

  after(async () => {
    if (!host) return;
    await fetch(`${host.replace(/\/+$/, '')}/indexes/${indexName}`, {
      method: 'DELETE',
      headers: process.env.MEILISEARCH_API_KEY ? { Authorization: `Bearer ${process.env.MEILISEARCH_API_KEY}` } : {},
      signal: AbortSignal.timeout(10_000),
    });
  });

  it('answers ping', async () => {
    await search.ping();
  });

  it('finds nothing before anything is indexed', async () => {
    expect(await search.search('durable', 10)).to.deep.equal([]);
  });

  it('indexes, ranks a title match first, replaces by id and removes idempotently', async () => {
    const lecture = randomUUID();
    const handout = randomUUID();
    await search.index({ id: lecture, title: 'Durable execution', filename: 'lecture.pdf', kind: 'pdf', text: 'replay' });
    await search.index({ id: handout, title: 'Handout', filename: 'handout.docx', kind: 'docx', text: 'durable lab' });
    expect(await search.search('durable', 10)).to.deep.equal([lecture, handout]);

    await search.index({ id: handout, title: 'Handout', filename: 'handout.docx', kind: 'docx', text: 'lab only' });
    expect(await search.search('durable', 10)).to.deep.equal([lecture]);

    await search.remove(lecture);
    await search.remove(lecture);
    expect(await search.search('durable', 10)).to.deep.equal([]);
  });
});
