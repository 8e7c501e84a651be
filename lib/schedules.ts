// Every Temporal Schedule of the platform, listed in one place and created or
// updated idempotently by one bootstrap step (`npm run schedules:sync`, run by
// `make up` and compose's `schedules` job), never by each worker replica. Each
// action is typed against its workflow function, so a change to a workflow's
// input breaks the build here as it does at every other caller.
import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleOptions,
} from '@temporalio/client';
import type { Workflow } from '@temporalio/common';
import type { Config } from './config';
import { withDeadline } from './clients/calls';
import { payloadEncryptionOn } from './dataConverter';
import { runSearchAttributes } from './temporal';
import type { billingReconciliation } from '../workflows/billingReconciliation';
import type { retentionRun } from '../workflows/retentionRun';
import type { telemetryExport } from '../workflows/telemetryExport';
import {
  TELEMETRY_DOMAIN,
  TELEMETRY_EXPORT_SCHEDULE_ID,
  TELEMETRY_EXPORT_WORKFLOW,
  TELEMETRY_TASK_QUEUE,
  telemetryExportInput,
} from '../workflows/telemetryExport.contract';
import {
  DATA_RETENTION_SCHEDULE_ID,
  RETENTION_DOMAIN,
  RETENTION_RUN_WORKFLOW,
  RETENTION_TASK_QUEUE,
} from '../workflows/retentionRun.contract';

import {
  BILLING_RECONCILIATION_SCHEDULE,
  BILLING_RECONCILIATION_WORKFLOW,
  PAYMENTS_DOMAIN,
  PAYMENTS_TASK_QUEUE,
} from '../workflows/billingReconciliation.contract';

export interface ScheduleDefinition<W extends Workflow = Workflow> {
  id: string;
  workflowType: string;
  taskQueue: string;
  args: Parameters<W>;
  /** Cron expression in `timezone`. */
  cron: string;
  timezone: string;
  /** A disabled process's schedule stays registered, paused, so operators still see it. */
  paused: boolean;
  domain: string;
  note: string;
}

/** The list of schedules; each process adds its entry here. */
export function scheduleDefinitions(config: Config): ScheduleDefinition[] {
  return [
    {
      id: TELEMETRY_EXPORT_SCHEDULE_ID,
      workflowType: TELEMETRY_EXPORT_WORKFLOW,
      taskQueue: TELEMETRY_TASK_QUEUE,
      args: [telemetryExportInput(config)],
      cron: config.TELEMETRY_EXPORT_CRON,
      timezone: config.TELEMETRY_EXPORT_TIMEZONE,
      paused: !config.TELEMETRY_EXPORT_ENABLED,
      domain: TELEMETRY_DOMAIN,
      note: 'Exports consented telemetry events to S3, each exactly once (TELEMETRY_EXPORT_*)',
    } satisfies ScheduleDefinition<typeof telemetryExport>,
    {
      id: BILLING_RECONCILIATION_SCHEDULE,
      workflowType: BILLING_RECONCILIATION_WORKFLOW,
      taskQueue: PAYMENTS_TASK_QUEUE,
      args: [],
      cron: config.BILLING_RECONCILIATION_CRON,
      timezone: 'UTC',
      paused: !config.BILLING_RECONCILIATION_ENABLED,
      domain: PAYMENTS_DOMAIN,
      note: 'compares the last 24 h of Stripe charges and refunds with the ledger; anomalies at /api/v1/payments/reconciliation/anomalies',
    } satisfies ScheduleDefinition<typeof billingReconciliation>,
    {
      id: DATA_RETENTION_SCHEDULE_ID,
      workflowType: RETENTION_RUN_WORKFLOW,
      taskQueue: RETENTION_TASK_QUEUE,
      args: [{ dryRun: config.DATA_RETENTION_DRY_RUN, trigger: 'schedule', ...(payloadEncryptionOn(config) ? { encryptedHistory: true } : {}) }],
      cron: config.DATA_RETENTION_CRON,
      timezone: config.DATA_RETENTION_TIMEZONE,
      paused: !config.DATA_RETENTION_ENABLED,
      domain: RETENTION_DOMAIN,
      note: `nightly retention run over every active policy${config.DATA_RETENTION_DRY_RUN ? ' (dry run: counts only)' : ''}`,
    } satisfies ScheduleDefinition<typeof retentionRun>,
  ];
}

/**
 * The memo key, on each schedule's action, holding the `paused` value the last sync applied from the
 * `*_ENABLED` settings. (A schedule's own memo cannot be changed after creation; its action's can.)
 */
export const APPLIED_PAUSED_MEMO_KEY = 'syncedPaused';

function toOptions(def: ScheduleDefinition): ScheduleOptions {
  return {
    scheduleId: def.id,
    spec: { cronExpressions: [def.cron], timezone: def.timezone },
    action: {
      type: 'startWorkflow',
      workflowType: def.workflowType,
      taskQueue: def.taskQueue,
      args: def.args,
      // Runs carry the IDs Temporal gives them (`<scheduleId>-<timestamp>`).
      workflowId: def.id,
      typedSearchAttributes: runSearchAttributes(def.domain, def.id),
      memo: { [APPLIED_PAUSED_MEMO_KEY]: def.paused },
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' },
    state: { paused: def.paused, note: def.note },
  };
}

/**
 * A sync pauses or unpauses a schedule only when its `*_ENABLED` setting changed since the last sync
 * (or no sync recorded one): an operator's pause or unpause in between stays as it is.
 */
export function pausedAfterSync(def: Pick<ScheduleDefinition, 'paused'>, previous: { paused: boolean; appliedPaused: unknown }): boolean {
  return previous.appliedPaused === def.paused ? previous.paused : def.paused;
}

async function syncSchedule(client: Client, def: ScheduleDefinition): Promise<void> {
  const options = toOptions(def);
  try {
    await client.schedule.create(options);
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(def.id).update((previous) => {
      const appliedPaused = previous.action.type === 'startWorkflow' ? previous.action.memo?.[APPLIED_PAUSED_MEMO_KEY] : undefined;
      const paused = pausedAfterSync(def, { paused: previous.state.paused, appliedPaused });
      const operatorsState = paused !== def.paused; // kept from an operator: so is their note (the reason)
      return {
        ...previous,
        spec: options.spec,
        action: options.action,
        policies: { ...previous.policies, ...options.policies },
        state: { ...previous.state, paused, note: operatorsState ? previous.state.note : def.note },
      };
    });
  }
}

/** Creates missing schedules and brings existing ones in line with their definition. */
export async function syncSchedules(client: Client, definitions: ScheduleDefinition[]): Promise<string[]> {
  const synced: string[] = [];
  for (const def of definitions) {
    await withDeadline(client, () => syncSchedule(client, def));
    synced.push(def.id);
  }
  return synced;
}
