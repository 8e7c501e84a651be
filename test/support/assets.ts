import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow';
import { expect } from 'chai';
import { call } from './http';
import { waitFor } from './wait';

export const FIXTURES = path.resolve(__dirname, '../fixtures');

export const CONTENT_TYPES: Record<string, string> = {
  pdf: 'application/pdf',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  epub: 'application/epub+zip',
  png: 'image/png',
  jpg: 'image/jpeg',
  csv: 'text/csv',
};

export const readFixture = (name: string) => readFile(path.join(FIXTURES, name));

export interface UploadedAsset {
  id: string;
  bytes: Buffer;
}

/** Opens an upload session for `filename` and PUTs `bytes` to the presigned URL, as a client would. */
export async function uploadAsset(apiUrl: string, token: string, filename: string, bytes: Buffer): Promise<UploadedAsset> {
  const ext = path.extname(filename).slice(1).toLowerCase();
  const session = await call(apiUrl, 'POST', '/api/v1/assets/upload-sessions', {
    token,
    body: {
      filename,
      contentType: CONTENT_TYPES[ext],
      sizeBytes: bytes.length,
      checksumSha256: createHash('sha256').update(bytes).digest('hex'),
    },
  });
  expect(session.status, JSON.stringify(session.body)).to.equal(201);
  expect(session.body.asset.status).to.equal('awaiting_upload');
  const { url, method, headers } = session.body.upload;
  const put = await fetch(url, { method, headers, body: bytes, signal: AbortSignal.timeout(30000) });
  expect(put.status, await put.text()).to.equal(200);
  return { id: session.body.asset.id, bytes };
}

/** Resolves once the run's scan has failed on clamd at least once and is being retried. */
export function scanBeingRetried(handle: WorkflowHandle): Promise<true> {
  return waitFor('the scan failing on clamd and being retried', async () => {
    const { raw } = await handle.describe();
    const scan = raw.pendingActivities?.find((a) => a.activityType?.name === 'processUpload');
    // Read through the client's data converter: with encrypted payloads the message is in encrypted attributes.
    const lastFailure = await decodeOptionalFailureToOptionalError(handle.client.options.loadedDataConverter, scan?.lastFailure ?? undefined);
    return scan && Number(scan.attempt) >= 2 && lastFailure?.message.includes('clamd at ') ? true : undefined;
  });
}
