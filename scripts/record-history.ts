// Records event histories into test/replay/, which the replay suite replays
// against the current workflow code (a non-deterministic change fails it).
//
//   npm run history:record -- <workflowId> <name> [runId]   one run (the latest, or runId), as test/replay/<name>.json
//   npm run history:record -- --all                 the newest completed run of every workflow
//                                                   type, as test/replay/<type>-latest.json
//
// Run `--all` against the namespace a full `make test` just used
// (TEMPORAL_NAMESPACE=edulure-test) to refresh one history per type.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { loadConfigOrExit } from '../lib/config';
import { connectClient } from '../lib/temporal';
import * as workflows from '../workflows';

const REPLAY_DIR = path.resolve(__dirname, '../test/replay');

async function record(client: Client, workflowId: string, runId: string | undefined, name: string): Promise<void> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const file = path.join(REPLAY_DIR, `${name}.json`);
  await writeFile(file, `${historyToJSON(history)}\n`);
  console.log(`${history.events?.length ?? 0} events of ${workflowId} → ${path.relative(process.cwd(), file)}`);
}

/** The newest completed run of each registered workflow type; a type with none is reported. */
async function recordEveryType(client: Client): Promise<number> {
  let missing = 0;
  for (const type of Object.keys(workflows)) {
    const query = `WorkflowType = "${type}" AND ExecutionStatus = "Completed"`;
    const newest = await client.workflow.list({ query, pageSize: 1 })[Symbol.asyncIterator]().next();
    if (newest.done) {
      console.error(`${type}: no completed run in namespace ${client.options.namespace}`);
      missing += 1;
      continue;
    }
    await record(client, newest.value.workflowId, newest.value.runId, `${type}-latest`);
  }
  return missing;
}

async function main(args: string[]): Promise<void> {
  const all = args[0] === '--all';
  if (!all && (!args[0] || !args[1] || !/^[A-Za-z0-9._-]+$/.test(args[1]))) {
    throw new Error('usage: npm run history:record -- <workflowId> <name: letters, digits, . _ -> [runId] | --all');
  }
  const client = await connectClient(loadConfigOrExit());
  try {
    if (!all) return await record(client, args[0], args[2], args[1]);
    if ((await recordEveryType(client)) > 0) process.exitCode = 1;
  } finally {
    await client.connection.close();
  }
}

main(process.argv.slice(2)).catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
