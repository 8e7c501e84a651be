// Drift: a closed run and its record disagree. Each record keeps the status its run
// closed with (`closed_status`); after the run closed, only the changes listed per
// process below may move the record's status on, and anything else is drift.
// Temporal is reached through the caller's DriftRuns (the API, an activity).
import { Asset } from '../db/models/Asset';
import { Payment, Refund } from '../db/models/Payment';
import { ReleaseRun } from '../db/models/ReleaseRun';
import { RetentionRun } from '../db/models/Retention';
import type { Db } from '../lib/db';
import type { DriftItem, DriftType } from '../schemas/runs';

/** A closed run that is still its workflow's latest, with what it returned (null unless it completed). */
export interface ClosedRunView {
  workflowId: string;
  runId: string;
  type: string;
  status: string;
  result: unknown;
}

export interface DriftRuns {
  /** The closed runs of a workflow type, closed since `since` when given (bounded). */
  closed(filter: { type: DriftType; since?: string }): Promise<ClosedRunView[]>;
}

interface RecordState {
  id: string;
  status: string;
  closedStatus: string | null;
}

interface ProcessRule {
  recordKind: DriftItem['recordKind'];
  /** Each run's record, by workflow ID. */
  records(db: Db, workflowIds: string[]): Promise<Map<string, RecordState>>;
  /** The record status a run that ended without a result closes with, by Temporal status. */
  closedWithout: Partial<Record<string, string>>;
  /** What may legally change a record's status after its run closed with the key. */
  laterChanges: Partial<Record<string, readonly string[]>>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The UUID after `prefix` in each workflow ID, mapped back to its workflow ID. */
function idsAfter(prefix: string, workflowIds: string[]): Map<string, string> {
  const ids = new Map<string, string>();
  for (const workflowId of workflowIds) {
    const id = workflowId.startsWith(prefix) ? workflowId.slice(prefix.length) : '';
    if (UUID.test(id)) ids.set(id, workflowId);
  }
  return ids;
}

function byWorkflowId<T extends { status: string; closedStatus: string | null }>(rows: T[], idOf: (row: T) => string, workflowIdOf: (row: T) => string | undefined) {
  const records = new Map<string, RecordState>();
  for (const row of rows) {
    const workflowId = workflowIdOf(row);
    if (workflowId) records.set(workflowId, { id: idOf(row), status: row.status, closedStatus: row.closedStatus });
  }
  return records;
}

/** Records whose primary key is the UUID in their workflow ID (`<prefix><id>`). */
function keyedByIdIn(prefix: string, load: (db: Db, ids: string[]) => Promise<Array<{ id: string; status: string; closedStatus: string | null }>>) {
  return async (db: Db, workflowIds: string[]) => {
    const ids = idsAfter(prefix, workflowIds);
    const rows = ids.size ? await load(db, [...ids.keys()]) : [];
    return byWorkflowId(rows, (r) => r.id, (r) => ids.get(r.id));
  };
}

/** `refund:<paymentId>:<idempotencyKey>`: a refund is found by its payment and key. */
async function refundRecords(db: Db, workflowIds: string[]): Promise<Map<string, RecordState>> {
  const keys = new Map<string, string>();
  for (const workflowId of workflowIds) {
    const [, paymentId, ...key] = workflowId.split(':');
    if (UUID.test(paymentId ?? '') && key.length) keys.set(`${paymentId}:${key.join(':')}`, workflowId);
  }
  if (!keys.size) return new Map();
  const pairs = [...keys.keys()].map((k) => [k.slice(0, 36), k.slice(37)]);
  const rows = await Refund.query(db).whereIn(['paymentId', 'idempotencyKey'], pairs);
  return byWorkflowId(rows, (r) => r.id, (r) => keys.get(`${r.paymentId}:${r.idempotencyKey}`));
}

const RULES: Record<DriftType, ProcessRule> = {
  assetConversion: {
    recordKind: 'asset',
    records: keyedByIdIn('asset-conversion:', async (db, ids) => await Asset.query(db).findByIds(ids)),
    closedWithout: { Failed: 'failed', Canceled: 'failed' },
    // A quarantined asset is released by review (processing until its new run starts) or deleted.
    laterChanges: { ready: ['deleted'], failed: ['deleted'], quarantined: ['processing', 'deleted'] },
  },
  paymentCapture: {
    recordKind: 'payment',
    records: keyedByIdIn('payment:', async (db, ids) => await Payment.query(db).findByIds(ids)),
    closedWithout: { Failed: 'failed', Canceled: 'canceled' },
    // Refunds move a succeeded payment on; disputes are kept beside the status and never change it.
    laterChanges: { succeeded: ['partially_refunded', 'refunded'] },
  },
  refund: {
    recordKind: 'refund',
    records: refundRecords,
    closedWithout: { Failed: 'failed', Canceled: 'canceled' },
    // Stripe may report a refund failed after it succeeded (a later refund.failed webhook).
    laterChanges: { succeeded: ['failed'] },
  },
  releaseEvaluation: {
    recordKind: 'release_run',
    records: async (db, workflowIds) => byWorkflowId(await ReleaseRun.query(db).whereIn('workflowId', workflowIds), (r) => r.publicId, (r) => r.workflowId),
    closedWithout: { Failed: 'failed', Canceled: 'expired' },
    laterChanges: {},
  },
  retentionRun: {
    recordKind: 'retention_run',
    records: async (db, workflowIds) => byWorkflowId(await RetentionRun.query(db).whereIn('workflowId', workflowIds), (r) => r.id, (r) => r.workflowId),
    closedWithout: { Failed: 'failed', Canceled: 'canceled' },
    laterChanges: {},
  },
};

export const DRIFT_TYPES = Object.keys(RULES) as DriftType[];

/**
 * The status the record should have closed with: a completed run's result says it; a failed or
 * canceled run's is fixed per process. Terminated and timed-out runs never recorded an outcome.
 */
function expectedClosedStatus(rule: ProcessRule, run: ClosedRunView): string | null {
  if (run.status === 'Completed') {
    const status = (run.result as { status?: unknown } | null)?.status;
    return typeof status === 'string' ? status : null;
  }
  return rule.closedWithout[run.status] ?? null;
}

/** Why the record disagrees with its run, or null when it agrees. */
function problemOf(rule: ProcessRule, expected: string, record: RecordState | undefined): string | null {
  if (!record) return `no ${rule.recordKind} record for this run`;
  if (record.closedStatus !== null && record.closedStatus !== expected) {
    return `the record says it closed ${record.closedStatus}; its run closed ${expected}`;
  }
  if (record.status === expected || (rule.laterChanges[expected] ?? []).includes(record.status)) return null;
  return `the record is ${record.status}; its run closed ${expected}, and nothing may move it from ${expected} to ${record.status}`;
}

async function driftOfType(db: Db, runs: DriftRuns, type: DriftType, since: string | undefined): Promise<DriftItem[]> {
  const rule = RULES[type];
  const closed = await runs.closed({ type, since });
  const records = closed.length ? await rule.records(db, closed.map((r) => r.workflowId)) : new Map<string, RecordState>();
  const items: DriftItem[] = [];
  for (const run of closed) {
    const expected = expectedClosedStatus(rule, run);
    if (expected === null) continue;
    const record = records.get(run.workflowId);
    const problem = problemOf(rule, expected, record);
    if (!problem) continue;
    items.push({
      workflowId: run.workflowId,
      runId: run.runId,
      type,
      recordKind: rule.recordKind,
      recordId: record?.id ?? null,
      runStatus: run.status,
      runResult: run.result ?? null,
      recordStatus: record?.status ?? null,
      closedStatus: record?.closedStatus ?? null,
      problem,
    });
  }
  return items;
}

/** Every closed run (of `type`, closed since `since`) whose record disagrees with it. */
export async function findDrift(db: Db, runs: DriftRuns, filter: { type?: DriftType; since?: string }): Promise<DriftItem[]> {
  const items: DriftItem[] = [];
  for (const type of filter.type ? [filter.type] : DRIFT_TYPES) items.push(...(await driftOfType(db, runs, type, filter.since)));
  return items;
}
