// Whether the Temporal frontend answers, for readiness: one cheap call under the usual deadline.
import type { Client } from '@temporalio/client';
import { withDeadline } from './calls';

export async function temporalAnswers(client: Client): Promise<void> {
  await withDeadline(client, () => client.connection.workflowService.getSystemInfo({}));
}
