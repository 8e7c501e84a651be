// Issue #18: a conversion run downloads the upload's server-only copy once, and the file the
// scanner judged is the file the converter reads (SPEC §4.1).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { expect } from 'chai';
import { createAssetActivities } from '../../activities/assets';
import type { Converter } from '../../providers/converter';
import type { Scanner } from '../../providers/scanner';
import type { Storage } from '../../providers/storage';
import { ASSETS_TASK_QUEUE } from '../../workflows/assetConversion.contract';
import { readFixture, uploadAsset } from '../support/assets';
import { call, tokenFor } from '../support/http';
import { createWorker, shared, startApi, temporalClient } from '../support/shared';

const sha256 = async (filePath: string) => createHash('sha256').update(await readFile(filePath)).digest('hex');

describe('asset conversion: one download per run (issue #18)', () => {
  it('downloads the copy once; the scanner and the converter read the same file, with the same bytes', async () => {
    const { config, db, providers } = shared();
    const downloads: string[] = [];
    const storage: Storage = {
      ...providers.storage,
      download: async (bucket, key, filePath) => {
        downloads.push(key);
        return providers.storage.download(bucket, key, filePath);
      },
    };
    const read: Array<{ by: string; filePath: string; sha: string }> = [];
    const scanner: Scanner = {
      ...providers.scanner,
      scan: async (filePath) => {
        read.push({ by: 'scanner', filePath, sha: await sha256(filePath) });
        return providers.scanner.scan(filePath);
      },
    };
    const converter: Converter = {
      ...providers.converter,
      inspectPdf: async (filePath, control) => {
        read.push({ by: 'converter', filePath, sha: await sha256(filePath) });
        return providers.converter.inspectPdf(filePath, control);
      },
    };
    const buckets = { uploads: config.S3_BUCKET_UPLOADS, private: config.S3_BUCKET_PRIVATE, quarantine: config.S3_BUCKET_QUARANTINE };
    const activities = createAssetActivities({ db, ...providers, storage, scanner, converter, buckets, converterMaxAttempts: config.CONVERTER_MAX_ATTEMPTS });

    const api = await startApi();
    const instructor = tokenFor('instructor');
    const bytes = await readFixture('lecture.pdf');
    const { id } = await uploadAsset(api.url, instructor, 'lecture.pdf', bytes);
    const ingest = await call(api.url, 'POST', `/api/v1/assets/${id}/ingest`, { token: instructor });
    expect(ingest.status).to.equal(202);
    const client = await temporalClient();
    const worker = await createWorker(ASSETS_TASK_QUEUE, activities);
    const result = await worker.runUntil(client.workflow.getHandle(ingest.body.run.workflowId, ingest.body.run.runId).result());

    expect(result.status).to.equal('ready');
    expect(downloads, 'one download of the server-only copy').to.deep.equal([`sources/${id}/original.pdf`]);
    expect(read.map((r) => r.by)).to.deep.equal(['scanner', 'converter']);
    expect(read[1].filePath, 'the converter reads the file the scanner judged').to.equal(read[0].filePath);
    const uploaded = createHash('sha256').update(bytes).digest('hex');
    expect(read.map((r) => r.sha)).to.deep.equal([uploaded, uploaded]);
  });
});
