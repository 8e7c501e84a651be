import { expect } from 'chai';
import { AssetIngestionEvent, AssetRendition } from '../../../db/models/Asset';
import { readFixture, uploadAsset } from '../../support/assets';
import { call, tokenFor } from '../../support/http';
import { shared } from '../../support/shared';
import { waitFor } from '../../support/wait';
import type { Scenario } from '../matrix/types';
import { settledResult, times, type RunRef } from './runs';

interface Ingest {
  assetId: string;
  run: RunRef;
}

/** PDFs: the conversion with the fewest moving parts, so a run lasts seconds, not a LibreOffice start. */
export const assetConversion: Scenario<Ingest[]> = {
  process: 'asset conversion',
  stripeCalls: [],
  async start(ctx) {
    const instructor = tokenFor('instructor');
    const bytes = await readFixture('lecture.pdf');
    const ingests = await times(ctx.runs, async (i) => {
      const uploaded = await uploadAsset(ctx.api.url, instructor, `chaos-${i}.pdf`, bytes);
      const res = await call(ctx.api.url, 'POST', `/api/v1/assets/${uploaded.id}/ingest`, { token: instructor });
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      return { assetId: uploaded.id, run: res.body.run as RunRef };
    });
    const ids = ingests.map((r) => r.assetId);
    await waitFor('every conversion to have started', async () =>
      (await AssetIngestionEvent.query(shared().db).whereIn('assetId', ids).where('step', 'started')).length === ids.length || undefined,
    );
    return ingests;
  },
  runsOf: (ingests) => ingests.map((i) => i.run),
  async settle(_ctx, ingests, checks) {
    const { db, config, providers } = shared();
    for (const { assetId, run } of ingests) {
      const result = await settledResult<{ status: string }>(run);
      checks.equal(result.status, 'ready', `conversion of ${assetId}`);
      const row = await db('assets').where('id', assetId).first();
      checks.equal(row.status, result.status, `asset ${assetId} row agrees with its run`);
      const renditions = await AssetRendition.query(db).where('assetId', assetId);
      checks.equal(renditions.map((r) => r.name), ['thumbnail'], `renditions of ${assetId}, once each`);
      const objects: string[] = [];
      for await (const o of providers.storage.list(config.S3_BUCKET_PRIVATE, `assets/${assetId}/`)) objects.push(o.key);
      checks.equal(objects.sort(), renditions.map((r) => r.key).sort(), `S3 objects of ${assetId} are its renditions, no orphan`);
      const steps = (await AssetIngestionEvent.query(db).where('assetId', assetId).orderBy('id')).map((e) => e.step);
      checks.equal(steps.length, new Set(steps).size, `no ingestion event of ${assetId} doubled: ${steps.join(',')}`);
      checks.equal(steps.at(-1), 'ready', `the last event of ${assetId}`);
    }
  },
};
