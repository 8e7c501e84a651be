// `npm run ops -- <command>`: the runs and schedules API (SPEC §4.6) from a terminal; USAGE below.
//
// A bulk replay lists the matching runs (GET /runs, every page; only runs still their workflow's latest,
// as the API's bulk replay picks them) and replays them one by one through
// POST /runs/{workflowId}/replay, 4 at a time, drawing a progress bar and
// one outcome per run as it happens (each request has its own timeout, and an interrupted bulk replay
// leaves a clear account of what was done); a run the API refuses with 409 (completed, or replayed
// meanwhile) is skipped. `--dry-run` asks the API's bulk endpoint how many runs it would replay.
import type { Static } from '@sinclair/typebox';
import { parseArgs } from 'node:util';
import { eachBounded } from '../lib/bounded';
import { loadConfigOrExit } from '../lib/config';
import type { ErrorBody } from '../lib/errors';
import type { Run } from '../schemas/common';
import type {
  BulkReplayResponse, DriftList, RunDetail, RunItem, RunList, ScheduleList, ScheduleResponse, TriggerResponse,
} from '../schemas/runs';

const REQUEST_TIMEOUT_MS = 60_000; // a bulk dry run reads every matching run's latest state
const REPLAY_CONCURRENCY = 4; // as many replays in flight as the API's own bulk replay allows
const MAX_BULK_RUNS = 1000; // the API's bulk replay bound
const PAGE_SIZE = 200;
/** Exit status when drift is found: apart from 1 (the check could not run) and 2 (bad arguments). */
const DRIFT_FOUND_EXIT = 3;

const USAGE = `usage: npm run ops -- <command> [--api URL] [--token JWT]

  runs list [--type T] [--status S] [--business-key K] [--since ISO] [--limit N] [--cursor C]
  runs show <workflowId>
  runs replay <workflowId> --mode reset|restart --reason "..."
  runs replay --type T --status Failed|TimedOut|Terminated --since ISO --mode reset|restart --reason "..." [--dry-run]
  runs cancel <workflowId> --reason "..."
  schedules list
  schedules trigger|pause|unpause <id> [--reason "..."]
  drift [--type T] [--since ISO]     closed runs their records disagree with; exits ${DRIFT_FOUND_EXIT} when any is found

--api defaults to PUBLIC_API_URL, else http://HOST:PORT. --token defaults to EDULURE_TOKEN: a token of
your own (from whoever issues them; locally \`npm run token -- --role operator --sub you\`). The CLI never
mints one: it holds no signing key, so an operator's machine cannot make an admin token.
`;

class UsageError extends Error {}

// ---- HTTP -----------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(readonly status: number, readonly body: Partial<ErrorBody>) {
    super(`${status} ${body.code ?? ''}: ${body.message ?? 'request failed'}`);
  }
}

interface Api {
  call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
}

function apiClient(baseUrl: string, token: string): Api {
  return {
    async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
      const url = `${baseUrl.replace(/\/+$/, '')}${path}`;
      const res = await fetch(url, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      }).catch((err: Error) => {
        throw new Error(`cannot reach the API at ${baseUrl} (${method} ${path}): ${(err.cause as Error | undefined)?.message ?? err.message}`);
      });
      const text = await res.text();
      const parsed = parseBody(text);
      if (!res.ok) throw new ApiError(res.status, parsed as Partial<ErrorBody>);
      return parsed as T;
    },
  };
}

/** JSON bodies as they are; anything else (a proxy's error page) as the message of an error. */
function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return { message: text.slice(0, 200) };
  }
}

const query = (params: Record<string, string | undefined>) => {
  const defined = Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined);
  return defined.length ? `?${new URLSearchParams(defined)}` : '';
};

const runPath = (workflowId: string, action = '') => `/api/v1/runs/${encodeURIComponent(workflowId)}${action}`;

// ---- rendering --------------------------------------------------------------------------------------

/** A plain-text table: a header, a rule, and one padded line per row. */
function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** `[########------------]  4/10  40%` */
function progressBar(done: number, total: number, width = 30): string {
  const filled = total === 0 ? width : Math.round((done / total) * width);
  const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(done).padStart(String(total).length)}/${total} ${String(percent).padStart(3)}%`;
}

const shortTime = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

function runsTable(items: RunItem[]): string {
  return table(
    ['WORKFLOW ID', 'TYPE', 'STATUS', 'BUSINESS KEY', 'STARTED', 'CLOSED'],
    items.map((r) => [r.workflowId, r.type, r.status, r.businessKey ?? '-', shortTime(r.startedAt), shortTime(r.closedAt)]),
  );
}

const replayedLine = (run: Run) => `${run.workflowId}: new run ${run.runId} (${run.status})`;

// ---- runs -------------------------------------------------------------------------------------------

interface Options {
  type?: string;
  status?: string;
  'business-key'?: string;
  since?: string;
  limit?: string;
  cursor?: string;
  mode?: string;
  reason?: string;
  'dry-run'?: boolean;
}

function required(options: Options, ...names: Array<'mode' | 'reason' | 'type' | 'status' | 'since'>): void {
  const missing = names.filter((n) => options[n] === undefined).map((n) => `--${n}`);
  if (missing.length) throw new UsageError(`missing ${missing.join(', ')}`);
}

async function listRunsCommand(api: Api, options: Options): Promise<void> {
  const page = await api.call<Static<typeof RunList>>('GET', `/api/v1/runs${query({
    type: options.type, status: options.status, businessKey: options['business-key'],
    since: options.since, limit: options.limit, cursor: options.cursor,
  })}`);
  console.log(page.items.length ? runsTable(page.items) : 'no runs match');
  if (page.nextCursor) console.log(`\nmore: --cursor ${page.nextCursor}`);
}

async function showRunCommand(api: Api, workflowId: string): Promise<void> {
  const { run } = await api.call<Static<typeof RunDetail>>('GET', runPath(workflowId));
  const fields: Array<[string, string]> = [
    ['workflow id', run.workflowId], ['run id', run.runId], ['type', run.type], ['status', run.status],
    ['business key', run.businessKey ?? '-'], ['started', shortTime(run.startedAt)], ['closed', shortTime(run.closedAt)],
    ['history length', String(run.historyLength)], ['failure', run.failure ?? '-'], ['ui', run.uiUrl],
  ];
  const width = Math.max(...fields.map(([k]) => k.length));
  console.log(fields.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n'));
  if (run.pendingActivities.length) {
    console.log(`\npending activities\n${table(
      ['ACTIVITY', 'ATTEMPT', 'LAST FAILURE'],
      run.pendingActivities.map((a) => [a.activityType, String(a.attempt), a.lastFailure ?? '-']),
    )}`);
  }
}

async function replayOneCommand(api: Api, workflowId: string, options: Options): Promise<void> {
  required(options, 'mode', 'reason');
  const { run } = await api.call<{ run: Run }>('POST', runPath(workflowId, '/replay'), { mode: options.mode, reason: options.reason });
  console.log(`replayed (${options.mode}) ${replayedLine(run)}\n${run.uiUrl}`);
}

/**
 * The runs a bulk replay targets, as the API's bulk replay picks them: every page of the filter, then only
 * runs that are still their workflow's latest (visibility keeps the failed record of a run replayed since).
 */
async function bulkCandidates(api: Api, options: Options): Promise<RunItem[]> {
  const byWorkflow = new Map<string, RunItem>();
  let cursor: string | undefined;
  do {
    const page = await api.call<Static<typeof RunList>>('GET', `/api/v1/runs${query({
      type: options.type, status: options.status, since: options.since, limit: String(PAGE_SIZE), cursor,
    })}`);
    for (const item of page.items) if (!byWorkflow.has(item.workflowId)) byWorkflow.set(item.workflowId, item);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && byWorkflow.size < MAX_BULK_RUNS);
  const listed = [...byWorkflow.values()].slice(0, MAX_BULK_RUNS);
  const latest = await eachBounded(listed, REPLAY_CONCURRENCY, (item) => api.call<Static<typeof RunDetail>>('GET', runPath(item.workflowId)));
  const stillLatest = new Set(latest.flatMap((o) => (o.value?.run.runId === o.item.runId ? [o.item.runId] : [])));
  return listed.filter((item) => stillLatest.has(item.runId));
}

type Outcome = { kind: 'replayed'; run: Run } | { kind: 'skipped' | 'failed'; reason: string };

async function replayCandidate(api: Api, candidate: RunItem, options: Options): Promise<Outcome> {
  try {
    const { run } = await api.call<{ run: Run }>('POST', runPath(candidate.workflowId, '/replay'), { mode: options.mode, reason: options.reason });
    return { kind: 'replayed', run };
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) return { kind: 'skipped', reason: err.body.message ?? 'conflict' };
    return { kind: 'failed', reason: err instanceof Error ? err.message : String(err) };
  }
}

async function bulkReplayCommand(api: Api, options: Options): Promise<number> {
  required(options, 'type', 'status', 'since', 'mode', 'reason');
  const filter = `${options.type} runs ${options.status} since ${options.since}`;
  if (options['dry-run']) {
    const { matched } = await api.call<Static<typeof BulkReplayResponse>>('POST', '/api/v1/runs/replay', {
      type: options.type, status: options.status, since: options.since, mode: options.mode, reason: options.reason, dryRun: true,
    });
    const candidates = await bulkCandidates(api, options);
    console.log(`dry run: ${matched} ${filter} would be replayed (${options.mode}); nothing was changed`);
    if (candidates.length) console.log(runsTable(candidates));
    return 0;
  }

  const candidates = await bulkCandidates(api, options);
  console.log(`replaying ${candidates.length} ${filter} (${options.mode}), ${REPLAY_CONCURRENCY} at a time`);
  const counts = { replayed: 0, skipped: 0, failed: 0 };
  const live = process.stdout.isTTY;
  let done = 0;
  const report = (candidate: RunItem, outcome: Outcome) => {
    done += 1;
    counts[outcome.kind] += 1;
    const what = outcome.kind === 'replayed' ? `replayed ${replayedLine(outcome.run)}` : `${outcome.kind} ${candidate.workflowId}: ${outcome.reason}`;
    // On a terminal the bar redraws under the outcome lines; in a log, one bar per outcome.
    if (live) process.stdout.write(`\r\x1b[2K${what}\n${progressBar(done, candidates.length)}`);
    else console.log(`${progressBar(done, candidates.length)}  ${what}`);
  };
  if (live) process.stdout.write(progressBar(0, candidates.length));
  await eachBounded(candidates, REPLAY_CONCURRENCY, async (candidate) => report(candidate, await replayCandidate(api, candidate, options)));
  if (live) process.stdout.write('\n');
  console.log(`done: ${counts.replayed} replayed, ${counts.skipped} skipped, ${counts.failed} failed of ${candidates.length}`);
  return counts.failed ? 1 : 0;
}

async function cancelCommand(api: Api, workflowId: string, options: Options): Promise<void> {
  required(options, 'reason');
  const { run } = await api.call<{ run: Run }>('POST', runPath(workflowId, '/cancel'), { reason: options.reason });
  console.log(`cancellation requested for ${run.workflowId} (run ${run.runId})`);
}

// ---- schedules ----------------------------------------------------------------------------------------

async function listSchedulesCommand(api: Api): Promise<void> {
  const { items } = await api.call<Static<typeof ScheduleList>>('GET', '/api/v1/schedules');
  if (!items.length) {
    console.log('no schedules');
    return;
  }
  console.log(table(
    ['ID', 'WORKFLOW', 'CRON', 'TIMEZONE', 'PAUSED', 'NEXT RUN', 'LAST RUN'],
    items.map((s) => [
      s.id, s.workflowType, s.spec.cron ?? '-', s.timezone, s.paused ? 'yes' : 'no',
      shortTime(s.nextRunAt[0]), s.lastRun ? `${shortTime(s.lastRun.startedAt)} ${s.lastRun.workflowId}` : '-',
    ]),
  ));
}

async function scheduleActionCommand(api: Api, action: string, id: string, options: Options): Promise<void> {
  const path = `/api/v1/schedules/${encodeURIComponent(id)}/${action}`;
  const body = options.reason ? { reason: options.reason } : undefined;
  if (action === 'trigger') {
    const { scheduleId, triggeredAt } = await api.call<Static<typeof TriggerResponse>>('POST', path, body);
    console.log(`triggered ${scheduleId} at ${triggeredAt}`);
    return;
  }
  const { schedule } = await api.call<Static<typeof ScheduleResponse>>('POST', path, body);
  const next = schedule.nextRunAt[0] ? `, next run ${shortTime(schedule.nextRunAt[0])}` : '';
  console.log(`${schedule.id}: ${schedule.paused ? 'paused' : `active${next}`}`);
}

// ---- drift ---------------------------------------------------------------------------------------------

async function driftCommand(api: Api, options: Options): Promise<number> {
  const { items } = await api.call<Static<typeof DriftList>>('GET', `/api/v1/runs/drift${query({ type: options.type, since: options.since })}`);
  if (!items.length) {
    console.log('no drift: every closed run agrees with its record');
    return 0;
  }
  console.log(table(
    ['WORKFLOW ID', 'RUN', 'RECORD', 'RUN CLOSED', 'CLOSED STATUS', 'RECORD STATUS', 'PROBLEM'],
    items.map((d) => [
      d.workflowId, d.runStatus, `${d.recordKind}:${d.recordId ?? '-'}`, resultStatus(d.runResult) ?? d.runStatus,
      d.closedStatus ?? '-', d.recordStatus ?? '-', d.problem,
    ]),
  ));
  console.log(`
${items.length} run(s) drifted from their records`);
  return DRIFT_FOUND_EXIT;
}

const resultStatus = (result: unknown) => {
  const status = (result as { status?: unknown } | null)?.status;
  return typeof status === 'string' ? status : null;
};

// ---- entry ----------------------------------------------------------------------------------------------

async function dispatch(api: Api, positionals: string[], options: Options): Promise<number> {
  const [area, command, target, ...extra] = positionals;
  if (area === 'drift') {
    if (command) throw new UsageError(`unexpected arguments: ${positionals.slice(1).join(' ')}`);
    return driftCommand(api, options);
  }
  if (extra.length) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  const needTarget = (what: string) => {
    if (!target) throw new UsageError(`${area} ${command} needs a ${what}`);
    return target;
  };
  switch (`${area} ${command}`) {
    case 'runs list': await listRunsCommand(api, options); return 0;
    case 'runs show': await showRunCommand(api, needTarget('workflow ID')); return 0;
    case 'runs replay':
      if (target) { await replayOneCommand(api, target, options); return 0; }
      return bulkReplayCommand(api, options);
    case 'runs cancel': await cancelCommand(api, needTarget('workflow ID'), options); return 0;
    case 'schedules list': await listSchedulesCommand(api); return 0;
    case 'schedules trigger':
    case 'schedules pause':
    case 'schedules unpause': await scheduleActionCommand(api, command, needTarget('schedule ID'), options); return 0;
    default: throw new UsageError(`unknown command: ${positionals.join(' ') || '(none)'}`);
  }
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      api: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      type: { type: 'string' }, status: { type: 'string' }, 'business-key': { type: 'string' }, since: { type: 'string' },
      limit: { type: 'string' }, cursor: { type: 'string' }, mode: { type: 'string' }, reason: { type: 'string' },
      'dry-run': { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('no command');
  const config = loadConfigOrExit();
  const baseUrl = values.api ?? config.PUBLIC_API_URL ?? `http://${config.HOST}:${config.PORT}`;
  const token = values.token ?? process.env.EDULURE_TOKEN;
  if (!token) throw new UsageError('no token: pass --token JWT or set EDULURE_TOKEN');
  return dispatch(apiClient(baseUrl, token), positionals, values);
}

const isArgumentError = (err: unknown) => err instanceof UsageError || String((err as { code?: string }).code).startsWith('ERR_PARSE_ARGS');

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (isArgumentError(err)) {
      console.error(`ops: ${(err as Error).message}\n\n${USAGE}`);
      process.exit(2);
    }
    if (err instanceof ApiError) {
      const details = (err.body.details ?? []).map((d) => `\n  ${d.path ?? ''} ${d.message}`).join('');
      console.error(`ops: ${err.message}${details}`);
      process.exit(1);
    }
    console.error(`ops: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
