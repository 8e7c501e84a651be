import { expect } from 'chai';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import * as workflows from '../../workflows';
import { workflowBundle } from '../support/shared';

const HISTORIES = __dirname;

/** The workflow type a recorded history starts. */
function workflowTypeOf(history: ReturnType<typeof historyFromJSON>): string {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? 'unknown';
}

describe('determinism gate: recorded histories replay against the current workflow code (SPEC §6)', () => {
  it('replays every history under test/replay/ without a non-determinism error', async () => {
    const files = (await readdir(HISTORIES)).filter((f) => f.endsWith('.json')).sort();
    expect(files, 'recorded histories').to.not.be.empty;
    const histories = await Promise.all(
      files.map(async (file) => ({
        workflowId: file,
        history: historyFromJSON(JSON.parse(await readFile(path.join(HISTORIES, file), 'utf8'))),
      })),
    );
    const replayed: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      expect(result.error, `${result.workflowId}: ${result.error?.message}`).to.equal(undefined);
      replayed.push(result.workflowId);
    }
    expect(replayed).to.have.length(files.length);
  });

  it('has a recorded history for every workflow type the worker registers', async () => {
    const files = (await readdir(HISTORIES)).filter((f) => f.endsWith('.json'));
    const types = new Set<string>();
    for (const file of files) {
      types.add(workflowTypeOf(historyFromJSON(JSON.parse(await readFile(path.join(HISTORIES, file), 'utf8')))));
    }
    expect([...types].sort()).to.include.members(Object.keys(workflows).sort());
  });
});
