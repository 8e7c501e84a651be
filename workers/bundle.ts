// The workflow code as one bundle: built once by `npm run build` (scripts/bundle-workflows.ts) and loaded by
// the compiled worker; under a TypeScript loader (development, tests) the worker bundles at start instead.
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '../lib/logger';
import { sdkLogger } from './runtime';

/** Where `npm run build` writes the bundle: dist/workflow-bundle.js. */
export const WORKFLOW_BUNDLE_PATH = path.resolve(__dirname, '../workflow-bundle.js');

const runningCompiled = () => __filename.endsWith('.js');

export function buildWorkflowBundle(logger: Logger): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: sdkLogger(logger, 'WARN') });
}

/** The prebuilt bundle when running compiled JavaScript (required there), else a fresh one. */
export async function workflowBundle(logger: Logger): Promise<WorkflowBundle | { codePath: string }> {
  if (!runningCompiled()) return buildWorkflowBundle(logger);
  if (!existsSync(WORKFLOW_BUNDLE_PATH)) {
    throw new Error(`no workflow bundle at ${WORKFLOW_BUNDLE_PATH}: run 'npm run build'`);
  }
  return { codePath: WORKFLOW_BUNDLE_PATH };
}
