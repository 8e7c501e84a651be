// `npm run ops`: the terminal client, run as a real process against the real API on an ephemeral port.
import { ApplicationFailure } from '@temporalio/common';
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import path from 'node:path';
import { RunReplay } from '../../db/models/RunReplay';
import { scheduleDefinitions, syncSchedules } from '../../lib/schedules';
import type { Run } from '../../schemas/common';
import { ASSETS_TASK_QUEUE, ASSET_CONVERSION_WORKFLOW } from '../../workflows/assetConversion.contract';
import { DATA_RETENTION_SCHEDULE_ID } from '../../workflows/retentionRun.contract';
import { readFixture, uploadAsset } from '../support/assets';
import { call, tokenFor } from '../support/http';
import { convertedAsset } from '../support/ops';
import { createWorker, shared, startApi, temporalClient, type TestApi } from '../support/shared';
import { compiledEntrypoint } from '../support/workerProcess';

const ROOT = path.resolve(__dirname, '../..');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

describe('ops CLI against the real API (issue 7)', function () {
  this.timeout(180_000);
  let api: TestApi;
  let completed: { assetId: string; run: Run };
  let since: string;
  const failedRuns: Run[] = [];
  /** The operator's own token, as `EDULURE_TOKEN` gives it to the CLI. */
  const operatorToken = tokenFor('operator', `ops-cli:${userInfo().username}`);

  /**
   * `npm run ops -- <args> --api <test API>` as `node dist/scripts/ops.js` (what npm runs, without its
   * start-up), asynchronously: the API answering it lives in this process.
   */
  const opsWith = (env: NodeJS.ProcessEnv, ...args: string[]) =>
    new Promise<CliResult>((resolve) => {
      const argv = [compiledEntrypoint('scripts/ops.ts'), ...args, '--api', api.url];
      execFile(process.execPath, argv, { cwd: ROOT, env, timeout: 120_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
      );
    });
  const ops = (...args: string[]) => opsWith({ ...process.env, EDULURE_TOKEN: operatorToken }, ...args);

  const untilClosed = async (run: Pick<Run, 'workflowId' | 'runId'>) =>
    (await temporalClient()).workflow.getHandle(run.workflowId, run.runId).result();

  before(async () => {
    api = await startApi({ RATE_LIMIT_BURST: 10000 });
    completed = await convertedAsset(api.url);
    since = new Date(Date.now() - 1000).toISOString();

    // Two conversions whose converter is down: the runs fail and wait for an operator.
    const instructor = tokenFor('instructor');
    for (let i = 0; i < 2; i += 1) {
      const { id } = await uploadAsset(api.url, instructor, `ops-${i}.png`, await readFixture('diagram.png'));
      const ingest = await call<{ run: Run }>(api.url, 'POST', `/api/v1/assets/${id}/ingest`, { token: instructor });
      failedRuns.push(ingest.body.run);
    }
    const converterDown = async () => {
      throw ApplicationFailure.nonRetryable('the converter is unavailable', 'ConverterUnavailable');
    };
    const worker = await createWorker(ASSETS_TASK_QUEUE, { processUpload: converterDown });
    await worker.runUntil(Promise.all(failedRuns.map((run) => untilClosed(run).catch(() => undefined))));
  });

  it('runs list: a table of runs found by type and business key', async () => {
    const { code, stdout, stderr } = await ops('runs', 'list', '--type', ASSET_CONVERSION_WORKFLOW, '--business-key', completed.assetId);
    expect(code, stderr).to.equal(0);
    const [header, rule, row, ...rest] = stdout.trim().split('\n');
    expect(header).to.match(/^WORKFLOW ID\s+TYPE\s+STATUS\s+BUSINESS KEY\s+STARTED\s+CLOSED$/);
    expect(rule).to.match(/^-+( +-+){5}$/);
    expect(row.split(/\s{2,}/).slice(0, 4)).to.deep.equal([completed.run.workflowId, ASSET_CONVERSION_WORKFLOW, 'Completed', completed.assetId]);
    expect(rest).to.deep.equal([]);

    const failed = await ops('runs', 'list', '--type', ASSET_CONVERSION_WORKFLOW, '--status', 'Failed', '--since', since, '--limit', '200');
    expect(failed.code, failed.stderr).to.equal(0);
    for (const run of failedRuns) expect(failed.stdout).to.contain(run.workflowId);
    expect(failed.stdout).not.to.contain(completed.run.workflowId);
  });

  it('runs show: status, failure, history length and the UI link', async () => {
    const { code, stdout, stderr } = await ops('runs', 'show', failedRuns[0].workflowId);
    expect(code, stderr).to.equal(0);
    expect(stdout).to.match(new RegExp(`^workflow id\\s+${failedRuns[0].workflowId}$`, 'm'));
    expect(stdout).to.match(/^status\s+Failed$/m);
    expect(stdout).to.match(/^failure\s+.*the converter is unavailable/m);
    expect(stdout).to.match(/^history length\s+\d{2,}$/m);
    expect(stdout).to.contain(encodeURIComponent(failedRuns[0].workflowId));
  });

  it('reports what the API refuses: a completed run is not replayed, a learner may not list runs', async () => {
    const refused = await ops('runs', 'replay', completed.run.workflowId, '--mode', 'reset', '--reason', 'should be refused');
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.contain('409 RUN_COMPLETED');
    const learner = await ops('runs', 'list', '--token', tokenFor('learner'));
    expect(learner.code).to.equal(1);
    expect(learner.stderr).to.contain('403');
    const { EDULURE_TOKEN: _none, ...withoutToken } = process.env;
    const tokenless = await opsWith({ ...withoutToken, JWT_SECRET: shared().config.JWT_SECRET }, 'runs', 'list');
    expect(tokenless.code, 'the CLI mints no token, even with the signing secret at hand').to.equal(2);
    expect(tokenless.stderr).to.contain('EDULURE_TOKEN');
    const usage = await ops('runs', 'replay', failedRuns[0].workflowId, '--reason', 'no mode given');
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.contain('missing --mode');
  });

  it('bulk replay: the dry run counts the failed runs and changes nothing; the real one replays them with a progress bar', async () => {
    const ids = failedRuns.map((r) => r.workflowId);
    const filter = ['--type', ASSET_CONVERSION_WORKFLOW, '--status', 'Failed', '--since', since, '--mode', 'reset', '--reason', 'converter is back'];
    const dry = await ops('runs', 'replay', ...filter, '--dry-run');
    expect(dry.code, dry.stderr).to.equal(0);
    const matched = Number(/^dry run: (\d+) /m.exec(dry.stdout)?.[1]);
    expect(matched).to.be.at.least(ids.length);
    for (const id of ids) expect(dry.stdout).to.contain(id);
    expect(dry.stdout.split('\n').filter((line) => line.startsWith('asset-conversion:')), 'the listed runs are the counted ones').to.have.length(matched);
    expect(await RunReplay.query(shared().db).whereIn('workflowId', ids)).to.deep.equal([]);

    const worker = await createWorker(ASSETS_TASK_QUEUE);
    const real = await worker.runUntil(async () => {
      const result = await ops('runs', 'replay', ...filter);
      const replays = await RunReplay.query(shared().db).whereIn('workflowId', ids);
      await Promise.all(replays.map((r) => untilClosed({ workflowId: r.workflowId, runId: r.newRunId })));
      return result;
    });
    expect(real.code, real.stderr).to.equal(0);
    const bars = real.stdout.split('\n').filter((line) => line.startsWith('['));
    expect(bars.length).to.equal(matched);
    expect(bars.at(-1)).to.match(new RegExp(`^\\[#{30}\\] ${matched}/${matched} 100%`));
    expect(real.stdout).to.contain(`done: ${matched} replayed, 0 skipped, 0 failed of ${matched}`);

    const replays = await RunReplay.query(shared().db).whereIn('workflowId', ids);
    expect(replays.map((r) => r.workflowId).sort()).to.deep.equal([...ids].sort());
    for (const replay of replays) {
      expect(replay).to.include({ mode: 'reset', reason: 'converter is back', requestedBy: `ops-cli:${userInfo().username}` });
      expect(replay.oldRunId).to.equal(failedRuns.find((r) => r.workflowId === replay.workflowId)?.runId);
      expect(real.stdout).to.contain(`replayed ${replay.workflowId}: new run ${replay.newRunId}`);
    }
    for (const run of failedRuns) {
      const asset = await call(api.url, 'GET', `/api/v1/assets/${run.workflowId.split(':')[1]}`, { token: tokenFor('admin') });
      expect(asset.body.asset.status).to.equal('ready');
    }
  });

  describe('schedules', () => {
    before(async () => {
      // Registered paused, as in every test: nothing runs unless a test triggers it.
      await syncSchedules(await temporalClient(), scheduleDefinitions(shared().config).map((d) => ({ ...d, paused: true })));
    });

    it('schedules list: every schedule of lib/schedules.ts in a table', async () => {
      const { code, stdout, stderr } = await ops('schedules', 'list');
      expect(code, stderr).to.equal(0);
      const lines = stdout.trim().split('\n');
      expect(lines[0]).to.match(/^ID\s+WORKFLOW\s+CRON\s+TIMEZONE\s+PAUSED\s+NEXT RUN\s+LAST RUN$/);
      for (const definition of scheduleDefinitions(shared().config)) {
        const row = lines.find((l) => l.startsWith(`${definition.id} `));
        expect(row, definition.id).to.be.a('string');
        expect(row?.split(/\s{2,}/).slice(0, 5)).to.deep.equal([definition.id, definition.workflowType, definition.cron, definition.timezone, 'yes']);
      }
    });

    it('schedules unpause and pause', async () => {
      const unpause = await ops('schedules', 'unpause', DATA_RETENTION_SCHEDULE_ID);
      expect(unpause.code, unpause.stderr).to.equal(0);
      expect(unpause.stdout).to.match(new RegExp(`^${DATA_RETENTION_SCHEDULE_ID}: active, next run \\d{4}-`));
      expect((await (await temporalClient()).schedule.getHandle(DATA_RETENTION_SCHEDULE_ID).describe()).state.paused).to.equal(false);
      const reason = `ops test ${randomUUID()}`;
      const pause = await ops('schedules', 'pause', DATA_RETENTION_SCHEDULE_ID, '--reason', reason);
      expect(pause.code, pause.stderr).to.equal(0);
      expect(pause.stdout.trim()).to.equal(`${DATA_RETENTION_SCHEDULE_ID}: paused`);
      const audit = await shared().db('audit_events').where({ action: 'schedule.pause', target: `schedule:${DATA_RETENTION_SCHEDULE_ID}`, reason });
      expect(audit.map((r) => r.outcome)).to.deep.equal(['succeeded']);
      const unknown = await ops('schedules', 'pause', 'no-such-schedule');
      expect([unknown.code, unknown.stderr.includes('404')]).to.deep.equal([1, true]);
    });
  });
});
