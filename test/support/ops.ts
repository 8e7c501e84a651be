// What the operator-facing suites share: a finished run of a real process to look at.
import { expect } from 'chai';
import type { Run } from '../../schemas/common';
import { ASSETS_TASK_QUEUE } from '../../workflows/assetConversion.contract';
import { readFixture, uploadAsset } from './assets';
import { call, tokenFor } from './http';
import { createWorker, temporalClient } from './shared';

/** Uploads a small image, ingests it through the API and runs a fresh worker until the conversion ends. */
export async function convertedAsset(apiUrl: string): Promise<{ assetId: string; run: Run }> {
  const instructor = tokenFor('instructor');
  const { id } = await uploadAsset(apiUrl, instructor, 'diagram.png', await readFixture('diagram.png'));
  const ingest = await call<{ run: Run }>(apiUrl, 'POST', `/api/v1/assets/${id}/ingest`, { token: instructor });
  expect(ingest.status, JSON.stringify(ingest.body)).to.equal(202);
  const { run } = ingest.body;
  const worker = await createWorker(ASSETS_TASK_QUEUE);
  await worker.runUntil((await temporalClient()).workflow.getHandle(run.workflowId, run.runId).result());
  return { assetId: id, run };
}
