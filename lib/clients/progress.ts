// Where a run is, for the progress stream: its status and its `progress` query, asked briefly.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Run } from '../../schemas/common';
import { statusName } from '../temporal';
import { progressQuery, type Progress } from '../../workflows/progress';
import { DEADLINES_MS, withDeadline } from './calls';

export interface RunSnapshot {
  status: Run['status'];
  progress: Progress | null;
}

/** The latest run's status and progress (null progress when it does not answer in time), or null when there is no run. */
export async function runSnapshot(client: Client, workflowId: string): Promise<RunSnapshot | null> {
  const handle = client.workflow.getHandle(workflowId);
  let status: Run['status'];
  try {
    status = statusName((await withDeadline(client, () => handle.describe())).status.name);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
  const progress = await withDeadline(client, () => handle.query(progressQuery), DEADLINES_MS.progressQuery).catch(() => null);
  if (progress || status === 'Running') return { status, progress };
  return { status, progress: await closedProgress(client, workflowId, status) };
}

/**
 * A closed run whose worker does not answer the query (none may be running) still has a last
 * progress: the outcome its result names (`{status}`), or how it closed.
 */
async function closedProgress(client: Client, workflowId: string, status: Run['status']): Promise<Progress> {
  if (status === 'Completed') {
    const result = (await withDeadline(client, () => client.workflow.getHandle(workflowId).result()).catch(() => null)) as { status?: unknown; reason?: unknown } | null;
    const stage = typeof result?.status === 'string' ? result.status : 'completed';
    return { stage, percent: 100, detail: typeof result?.reason === 'string' ? result.reason : null };
  }
  return { stage: status.toLowerCase(), percent: 100, detail: null };
}
