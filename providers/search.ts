// Full-text search over ready assets. Meilisearch lives here; the Postgres
// implementation of the same interface is in postgresSearch.ts.
import { setTimeout as sleep } from 'node:timers/promises';

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
const FIRST_POLL_MS = 25;
const MAX_POLL_MS = 500;

interface MeiliTask {
  status: 'enqueued' | 'processing' | 'succeeded' | 'failed' | 'canceled';
  error?: { code?: string; message?: string } | null;
}

export function createMeilisearchIndex(settings: MeilisearchSettings): SearchIndex {
  const base = settings.host.replace(/\/+$/, '');
  const indexPath = `/indexes/${encodeURIComponent(settings.indexName)}`;
  const taskTimeoutMs = settings.taskTimeoutMs ?? DEFAULT_TASK_TIMEOUT_MS;
  let indexReady: Promise<void> | undefined;

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        method,
        headers: {
          'Content-Type': 'application/json',
          ...(settings.apiKey ? { Authorization: `Bearer ${settings.apiKey}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(settings.timeoutMs),
      });
    } catch (err) {
      throw new SearchError(`Meilisearch ${method} ${path}: ${(err as Error).message}`, undefined, { cause: err });
    }
    const payload = (await response.json().catch(() => ({}))) as { code?: string; message?: string };
    if (!response.ok) {
      throw new SearchError(
        `Meilisearch ${method} ${path}: ${response.status} ${payload.message ?? response.statusText}`,
        payload.code,
      );
    }
    return payload as T;
  }

  /** Meilisearch applies writes asynchronously; a write is done when its task is. */
  async function runTask(method: string, path: string, body?: unknown): Promise<void> {
    const { taskUid } = await call<{ taskUid: number }>(method, path, body);
    const deadline = Date.now() + taskTimeoutMs;
    for (let delay = FIRST_POLL_MS; ; delay = Math.min(delay * 2, MAX_POLL_MS)) {
      const task = await call<MeiliTask>('GET', `/tasks/${taskUid}`);
      if (task.status === 'succeeded') return;
      if (task.status === 'failed' || task.status === 'canceled') {
        throw new SearchError(
          `Meilisearch task ${taskUid} ${task.status}: ${task.error?.message ?? 'no reason given'}`,
          task.error?.code,
        );
      }
      if (Date.now() + delay > deadline) {
        throw new SearchError(`Meilisearch task ${taskUid} still ${task.status} after ${taskTimeoutMs} ms`);
      }
      await sleep(delay);
    }
  }

  async function createIndex(): Promise<void> {
    try {
      await runTask('POST', '/indexes', { uid: settings.indexName, primaryKey: 'id' });
    } catch (err) {
      if (!(err instanceof SearchError && err.code === 'index_already_exists')) throw err;
    }
    await runTask('PATCH', `${indexPath}/settings`, { searchableAttributes: SEARCHABLE_ATTRIBUTES });
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
      await runTask('POST', `${indexPath}/documents?primaryKey=id`, [doc]);
    },
    async remove(id) {
      try {
        await runTask('DELETE', `${indexPath}/documents/${encodeURIComponent(id)}`);
      } catch (err) {
        if (!(err instanceof SearchError && err.code === 'index_not_found')) throw err;
      }
    },
    async search(q, limit) {
      try {
        const result = await call<{ hits: Array<{ id: string }> }>('POST', `${indexPath}/search`, {
          q,
          limit,
          attributesToRetrieve: ['id'],
        });
        return result.hits.map((hit) => String(hit.id));
      } catch (err) {
        if (err instanceof SearchError && err.code === 'index_not_found') return [];
        throw err;
      }
    },
    async ping() {
      await call('GET', '/health');
    },
  };
}
