// assetDeletion's order with mocked activities (SPEC §4.1): conversion stopped, record committed, then objects and search.
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { expect } from 'chai';
import type { AssetActivities } from '../../../activities/assets';
import type { assetDeletion } from '../../../workflows/assetDeletion';
import { ASSETS_DOMAIN } from '../../../workflows/assetConversion.contract';
import { ASSET_DELETION_WORKFLOW, assetDeletionWorkflowId } from '../../../workflows/assetDeletion.contract';
import { ActivityMocks, rejectionOf, unreachable, useWorkflowRunner } from '../../support/workflowEnv';

function deletionMocks(overrides: Partial<AssetActivities> = {}) {
  return new ActivityMocks<AssetActivities>({
    stopConversion: async () => undefined,
    markDeleted: async () => undefined,
    removeAssetObjects: async () => 3,
    unindexAsset: async () => undefined,
    ...overrides,
  });
}

describe('assetDeletion workflow (mocked activities)', function () {
  const { run } = useWorkflowRunner<typeof assetDeletion>({
    type: ASSET_DELETION_WORKFLOW,
    domain: ASSETS_DOMAIN,
    workflowId: (input) => assetDeletionWorkflowId(input.assetId),
  });

  it('stops the conversion, commits the deletion, then removes the objects and the search entry → deleted', async () => {
    const assetId = randomUUID();
    const mocks = deletionMocks();
    expect(await run([{ assetId }], mocks)).to.deep.equal({ assetId, status: 'deleted', objectsRemoved: 3 });
    expect(mocks.names()).to.deep.equal(['stopConversion', 'markDeleted', 'removeAssetObjects', 'unindexAsset']);
  });

  it('removes no object while the deletion is not recorded: a failing record write fails the run first', async () => {
    const mocks = deletionMocks({ markDeleted: unreachable('database unreachable') });
    const err = await rejectionOf(run([{ assetId: randomUUID() }], mocks));
    expect(err).to.be.instanceOf(WorkflowFailedError);
    expect(mocks.argsOf('markDeleted')).to.have.length(5);
    expect(mocks.names()).to.not.include('removeAssetObjects');
  });
});
