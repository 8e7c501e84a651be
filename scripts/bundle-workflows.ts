// `npm run build`, second step: bundles the compiled workflow code once into dist/workflow-bundle.js,
// which the compiled worker loads (workers/bundle.ts).
import { writeFile } from 'node:fs/promises';
import { logger } from '../lib/logger';
import { buildWorkflowBundle, WORKFLOW_BUNDLE_PATH } from '../workers/bundle';

async function main(): Promise<void> {
  const { code } = await buildWorkflowBundle(logger);
  await writeFile(WORKFLOW_BUNDLE_PATH, code);
  console.log(`workflow bundle: ${WORKFLOW_BUNDLE_PATH} (${Math.round(code.length / 1024)} KiB)`);
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
