// Full-text search over ready assets. Meilisearch (its official client) lives here; the Postgres
// implementation of the same interface is in postgresSearch.ts.
import { Meilisearch, MeilisearchApiError, type EnqueuedTaskPromise } from 'meilisearch';

export interface SearchDocument {
  id: string;
  title: string;
  filename: string;
  kind: string;
  text: string;
}

export interface SearchIndex {
  /** Adds or replaces the document with this id. */
  index(doc: SearchDocument): Promise<void>;
  /** Succeeds when the document is already gone. */
  remove(id: string): Promise<void>;
  /** Ids, most relevant first. */
  search(q: string, limit: number): Promise<string[]>;
  ping(): Promise<void>;
}

export interface MeilisearchSettings {
  host: string;
  apiKey?: string;
  /** Timeout of each HTTP call. */
  timeoutMs: number;
  indexName: string;
  /** How long index/remove wait for Meilisearch to apply the change (default 60 s). */
  taskTimeoutMs?: number;
}

export class SearchError extends Error {
  override readonly name = 'SearchError';
  constructor(
    message: string,
    /** Meilisearch's error code, e.g. `index_not_found`. */
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Order matters: Meilisearch ranks a match in an earlier attribute higher. */
const SEARCHABLE_ATTRIBUTES = ['title', 'filename', 'text'];
const DEFAULT_TASK_TIMEOUT_MS = 60_000;

/** Meilisearch's error code (e.g. `index_not_found`) of a failed call, if it answered one. */
const meiliCode = (err: unknown) => (err instanceof MeilisearchApiError ? err.cause?.code : undefined);

/** Runs one Meilisearch call, naming it in the SearchError it throws. */
async function meili<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw new SearchError(`Meilisearch ${what}: ${(err as Error).message}`, meiliCode(err), { cause: err });
  }
}

/** Meilisearch applies writes asynchronously: a write is done when its task succeeded. */
async function applied(what: string, task: EnqueuedTaskPromise, timeout: number): Promise<void> {
  const done = await meili(what, () => task.waitTask({ timeout }));
  if (done.status !== 'succeeded') {
    throw new SearchError(`Meilisearch ${what}: task ${done.uid} ${done.status}: ${done.error?.message ?? 'no reason given'}`, done.error?.code);
  }
}

/** The Meilisearch index of ready assets, through the official client. */
export function createMeilisearchIndex(settings: MeilisearchSettings): SearchIndex {
  const client = new Meilisearch({ host: settings.host, apiKey: settings.apiKey, timeout: settings.timeoutMs });
  const index = client.index<SearchDocument>(settings.indexName);
  const taskTimeout = settings.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
  let indexReady: Promise<void> | undefined;

  async function createIndex(): Promise<void> {
    try {
      await applied('create index', client.createIndex(settings.indexName, { primaryKey: 'id' }), taskTimeout);
    } catch (err) {
      if (!(err instanceof SearchError && err.code === 'index_already_exists')) throw err;
    }
    await applied('searchable attributes', index.updateSearchableAttributes(SEARCHABLE_ATTRIBUTES), taskTimeout);
  }

  function ensureIndex(): Promise<void> {
    indexReady ??= createIndex().catch((err: unknown) => {
      indexReady = undefined;
      throw err;
    });
    return indexReady;
  }

  return {
    async index(doc) {
      await ensureIndex();
      await applied(`index ${doc.id}`, index.addDocuments([doc], { primaryKey: 'id' }), taskTimeout);
    },
    async remove(id) {
      try {
        await applied(`remove ${id}`, index.deleteDocument(id), taskTimeout);
      } catch (err) {
        if (!(err instanceof SearchError && err.code === 'index_not_found')) throw err;
      }
    },
    async search(q, limit) {
      try {
        const result = await meili('search', () => index.search(q, { limit, attributesToRetrieve: ['id'] }));
        return result.hits.map((hit) => String(hit.id));
      } catch (err) {
        if (err instanceof SearchError && err.code === 'index_not_found') return [];
        throw err;
      }
    },
    async ping() {
      await meili('health', () => client.health());
    },
  };
}
