// `npm run history:record -- <workflowId> <name>`: saves a run's event history as
// test/replay/<name>.json, which the replay suite then replays against the
// current workflow code (a non-deterministic change fails it).
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { loadConfigOrExit } from '../lib/config';
import { connectClient } from '../lib/temporal';

async function main(workflowId: string | undefined, name: string | undefined): Promise<void> {
  if (!workflowId || !name || !/^[A-Za-z0-9._-]+$/.test(name)) {
    throw new Error('usage: npm run history:record -- <workflowId> <name: letters, digits, . _ ->');
  }
  const client = await connectClient(loadConfigOrExit());
  try {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const file = path.resolve(__dirname, '../test/replay', `${name}.json`);
    await writeFile(file, `${historyToJSON(history)}\n`);
    console.log(`${history.events?.length ?? 0} events of ${workflowId} → ${path.relative(process.cwd(), file)}`);
  } finally {
    await client.connection.close();
  }
}

main(process.argv[2], process.argv[3]).catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
