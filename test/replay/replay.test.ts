import { expect } from 'chai';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import * as workflows from '../../workflows';
import { dataConverterOf } from '../../lib/dataConverter';
import { shared, workflowBundle } from '../support/shared';

const HISTORIES = __dirname;

/** The workflow type a recorded history starts. */
function workflowTypeOf(history: ReturnType<typeof historyFromJSON>): string {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? 'unknown';
}

async function recordedHistories() {
  const files = (await readdir(HISTORIES)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => ({
      workflowId: file,
      history: historyFromJSON(JSON.parse(await readFile(path.join(HISTORIES, file), 'utf8'))),
    })),
  );
}

describe('determinism gate: recorded histories replay against the current workflow code (SPEC §6)', () => {
  it('replays every history under test/replay/ without a non-determinism error', async () => {
    const histories = await recordedHistories();
    expect(histories, 'recorded histories').to.not.be.empty;
    const replayed: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle(), dataConverter: dataConverterOf(shared().config) }, histories)) {
      expect(result.error, `${result.workflowId}: ${result.error?.message}`).to.equal(undefined);
      replayed.push(result.workflowId);
    }
    expect(replayed).to.have.length(histories.length);
  });

  it('fails on a deliberately non-deterministic variant of a workflow', async () => {
    const variant = await bundleWorkflowCode({ workflowsPath: require.resolve('./variants/reordered') });
    const histories = (await recordedHistories()).filter((h) => h.workflowId.startsWith('assetConversion-'));
    let violations = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle: variant, dataConverter: dataConverterOf(shared().config) }, histories)) {
      if (result.error instanceof DeterminismViolationError) violations += 1;
    }
    expect(violations).to.equal(histories.length);
  });

  it('has a recorded history for every workflow type the worker registers', async () => {
    const types = new Set((await recordedHistories()).map((h) => workflowTypeOf(h.history)));
    expect([...types].sort()).to.include.members(Object.keys(workflows).sort());
  });
});
