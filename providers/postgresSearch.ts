import type { Db } from '../lib/db';
import type { SearchDocument, SearchIndex } from './search';

/**
 * Search without Meilisearch: the assets table carries a generated tsvector
 * over title, file name and extracted text, so indexing is a no-op here and
 * a query is one indexed lookup among ready assets.
 */
export function createPostgresSearchIndex(db: Db): SearchIndex {
  return {
    async index(_doc: SearchDocument) {},
    async remove(_id: string) {},
    async search(q: string, limit: number) {
      const rows = (await db('assets')
        .select('id')
        .where('status', 'ready')
        .whereRaw(`search_vector @@ websearch_to_tsquery('simple', ?)`, [q])
        .orderByRaw(`ts_rank(search_vector, websearch_to_tsquery('simple', ?)) desc, created_at desc`, [q])
        .limit(limit)) as Array<{ id: string }>;
      return rows.map((r) => r.id);
    },
    async ping() {
      await db.raw('select 1');
    },
  };
}
