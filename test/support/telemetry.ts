import { randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { expect } from 'chai';
import { TelemetryExport } from '../../db/models/Telemetry';
import type { TelemetryEventInput } from '../../schemas/telemetry';
import { call } from './http';
import { shared } from './shared';

/** `n` events with ids unique to this call; `overrides` apply to every one. */
export function makeEvents(n: number, overrides: Partial<TelemetryEventInput> = {}): TelemetryEventInput[] {
  const batch = randomUUID();
  return Array.from({ length: n }, (_, i) => ({
    eventId: `${batch}-${i}`,
    source: 'web',
    name: 'lesson.viewed',
    occurredAt: new Date(Date.UTC(2026, 10, 22, 12, 0, i % 60)).toISOString(),
    properties: { lesson: i, title: 'Durable "workflows" \\ 101' },
    ...overrides,
  }));
}

export async function ingest(apiUrl: string, token: string, events: TelemetryEventInput[]) {
  return call(apiUrl, 'POST', '/api/v1/telemetry/events', { token, body: { events } });
}

export async function recordConsent(apiUrl: string, token: string, userId: string, status: 'granted' | 'revoked', scope = 'analytics') {
  const res = await call(apiUrl, 'POST', '/api/v1/telemetry/consents', { token, body: { userId, scope, status, version: 'v1' } });
  expect(res.status, JSON.stringify(res.body)).to.equal(201);
  return res.body;
}

export interface ExportedObject {
  key: string;
  batchId: string;
  eventIds: string[];
  lines: Array<Record<string, unknown>>;
}

/** Reads back, from the S3 gateway, every object exported (its batch committed) since `since`. */
export async function exportedObjectsSince(since: Date): Promise<ExportedObject[]> {
  const { db, providers } = shared();
  const rows = await TelemetryExport.query(db).where('createdAt', '>=', since).whereNotNull('committedAt').orderBy('createdAt');
  return Promise.all(
    rows.map(async (row) => {
      const body = await providers.storage.getBuffer(row.bucket, row.key);
      const text = (row.key.endsWith('.gz') ? gunzipSync(body) : body).toString('utf8');
      const lines = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines, `object ${row.key} holds what its row says`).to.have.length(row.count);
      return { key: row.key, batchId: row.batchId, eventIds: lines.map((l) => String(l.eventId)), lines };
    }),
  );
}

/** How many times each of `eventIds` appears across the objects. */
export function occurrences(objects: ExportedObject[], eventIds: string[]): Map<string, number> {
  const counts = new Map(eventIds.map((id) => [id, 0]));
  for (const object of objects) {
    for (const id of object.eventIds) if (counts.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** Every one of `eventIds` is in exactly one object. */
export function expectExactlyOnce(objects: ExportedObject[], eventIds: string[]): void {
  const twice = [...occurrences(objects, eventIds)].filter(([, n]) => n !== 1);
  expect(twice, 'events not exported exactly once (id, times)').to.deep.equal([]);
}
