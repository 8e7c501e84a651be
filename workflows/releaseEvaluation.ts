import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import type { ReleaseActivities } from '../activities/releases';
import { causeMessage } from './failures';
import type {
  ChecklistGate,
  Criterion,
  EvaluationStatus,
  GateState,
  RecordedEvaluation,
  ReleaseMetrics,
} from '../schemas/releases';
import {
  evaluateGateUpdate,
  progressQuery,
  readinessOf,
  reevaluateUpdate,
  type GateEvaluationRequest,
  type Progress,
  type ReevaluateRequest,
  type ReleaseEvaluationInput,
  type ReleaseEvaluationResult,
  type ReleaseReadiness,
  type ReleaseUpdateRejection,
} from './releaseEvaluation.contract';

// Small Postgres writes of the run's state. Five attempts over ~15 s ride out a database
// failover. An update's caller waits for them: the API gives up after 30 s with a 503
// while the retries go on, and the evaluation is recorded once they succeed.
const bookkeepingOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
} as const;
const bookkeeping = proxyActivities<ReleaseActivities>(bookkeepingOptions);
// The state write of an evaluation as a local activity: it runs in the workflow task that accepted the
// Update, which then completes the Update too, one round trip through the server instead of three. The
// write is safe to repeat (a worker crash before the task completes runs it again), like every one here.
const localBookkeeping = proxyLocalActivities<ReleaseActivities>(bookkeepingOptions);

// This workflow lives for days, across deploys. Any later change to what it does goes
// behind `patched('<change-id>')` at the point where the behaviour changes (for example
// around a new activity call in `persist` or in the closing step below), so runs started
// before the deploy replay their recorded path; `deprecatePatch` once none of them is open.

const reject = (type: ReleaseUpdateRejection, message: string) => ApplicationFailure.create({ type, message, nonRetryable: true });

const describeMiss = (c: Criterion, value: number) =>
  `${c.metric} ${value} ${c.comparison === 'atLeast' ? '<' : '>'} ${c.threshold}`;

/** The criteria whose metric was submitted and misses its threshold. */
function missedCriteria(gate: ChecklistGate, metrics: ReleaseMetrics): string[] {
  return gate.criteria.flatMap((c) => {
    const value = metrics[c.metric];
    if (value === undefined) return [];
    const met = c.comparison === 'atLeast' ? value >= c.threshold : value <= c.threshold;
    return met ? [] : [describeMiss(c, value)];
  });
}

/** An auto gate's verdict from metrics, or undefined when a metric it needs is missing. */
function autoVerdict(gate: ChecklistGate, metrics: ReleaseMetrics): EvaluationStatus | undefined {
  if (gate.kind !== 'auto' || gate.criteria.some((c) => metrics[c.metric] === undefined)) return undefined;
  return missedCriteria(gate, metrics).length === 0 ? 'pass' : 'fail';
}

function metricsOf(gate: ChecklistGate, metrics: ReleaseMetrics): ReleaseMetrics {
  return Object.fromEntries(gate.criteria.map((c) => [c.metric, metrics[c.metric]]));
}

export async function releaseEvaluation(input: ReleaseEvaluationInput): Promise<ReleaseEvaluationResult> {
  const { publicId } = input;
  const gates: GateState[] = input.checklist.map((gate) => ({ ...gate, status: 'pending' }));
  let seq = 0;
  let revision = 0;
  let opened = false;
  let closing = false;
  let closed: Progress | undefined;
  let failure: unknown;

  setHandler(progressQuery, () => {
    if (closed) return closed;
    const readiness = readinessOf(gates);
    const detail = readiness.blockingGates.length > 0 ? `blocked by ${readiness.blockingGates.join(', ')}` : null;
    return { stage: closing ? 'closing' : readiness.status, percent: readiness.readinessScore, detail };
  });
  setHandler(evaluateGateUpdate, (request) => persist([accept(manualEvaluation(request))]), {
    validator: validateEvaluation,
  });
  setHandler(reevaluateUpdate, (request) => persist(autoEvaluate(request.metrics, request.actor)), {
    validator: validateReevaluation,
  });

  function validateEvaluation(request: GateEvaluationRequest): void {
    if (closing) throw reject('ReleaseClosed', 'the release run is closed');
    const gate = gates.find((g) => g.key === request.gateKey);
    if (!gate) throw reject('UnknownGate', `the checklist of this run has no gate "${request.gateKey}"`);
    if (!['pass', 'fail', 'waived'].includes(request.status)) {
      throw reject('InvalidEvaluation', `status must be pass, fail or waived, not "${request.status}"`);
    }
    const missed = request.metrics ? missedCriteria(gate, request.metrics) : [];
    if (request.status === 'pass' && missed.length > 0) {
      throw reject('MetricsContradictStatus', `the submitted metrics fail the ${gate.key} gate: ${missed.join('; ')}`);
    }
  }

  function validateReevaluation(request: ReevaluateRequest): void {
    if (closing) throw reject('ReleaseClosed', 'the release run is closed');
    const { metrics } = request;
    if (metrics && !gates.some((g) => autoVerdict(g, metrics) !== undefined)) {
      throw reject('MetricsIncomplete', 'the metrics complete no auto gate: each needs every metric of its criteria');
    }
  }

  function manualEvaluation(request: GateEvaluationRequest): Omit<RecordedEvaluation, 'seq'> {
    return {
      gateKey: request.gateKey,
      status: request.status,
      source: 'manual',
      metrics: request.metrics ?? null,
      notes: request.notes ?? null,
      evidenceUrl: request.evidenceUrl ?? null,
      actor: request.actor,
    };
  }

  /** Applies an evaluation to the gate (the latest one wins) and numbers it. */
  function accept(evaluation: Omit<RecordedEvaluation, 'seq'>): RecordedEvaluation {
    seq += 1;
    const gate = gates.find((g) => g.key === evaluation.gateKey);
    if (gate) gate.status = evaluation.status;
    return { ...evaluation, seq };
  }

  function autoEvaluate(metrics: ReleaseMetrics | undefined, actor: string): RecordedEvaluation[] {
    if (!metrics) return [];
    return gates.flatMap((gate) => {
      const status = autoVerdict(gate, metrics);
      if (!status) return [];
      const missed = missedCriteria(gate, metrics);
      return [
        accept({
          gateKey: gate.key,
          status,
          source: 'auto',
          metrics: metricsOf(gate, metrics),
          notes: missed.length > 0 ? missed.join('; ') : null,
          evidenceUrl: null,
          actor,
        }),
      ];
    });
  }

  /** An update's write waits for the opening one, so Postgres holds the evaluations in the workflow's order. */
  async function persist(evaluations: RecordedEvaluation[]): Promise<ReleaseReadiness> {
    await condition(() => opened || failure !== undefined);
    if (failure !== undefined) throw failure;
    return write(evaluations);
  }

  /** Writes the evaluations and the state they lead to; answers that state. */
  async function write(evaluations: RecordedEvaluation[]): Promise<ReleaseReadiness> {
    revision += 1;
    const readiness = readinessOf(gates);
    // Added after the first releases: runs recorded before it wrote their state with a regular activity.
    const recorder = patched('state-write-local-activity') ? localBookkeeping : bookkeeping;
    try {
      await recorder.recordReleaseState({
        publicId,
        revision,
        status: readiness.status,
        readinessScore: readiness.readinessScore,
        gates: gates.map((g) => ({ ...g })),
        evaluations,
      });
    } catch (err) {
      failure ??= err;
      throw err;
    }
    return readiness;
  }

  // Submitted metrics are applied before any update can arrive, so an evaluation always supersedes them.
  const initialEvaluations = autoEvaluate(input.metrics, 'workflow');
  try {
    await bookkeeping.openRelease(publicId, { start: input.changeWindowStart, end: input.changeWindowEnd });
    await write(initialEvaluations);
    opened = true;

    // The durable timer: the run stays open, taking evaluations, until its change window starts.
    const untilWindow = Date.parse(input.changeWindowStart) - new Date().getTime();
    if (untilWindow > 0) await condition(() => failure !== undefined, untilWindow);
    closing = true;
    await condition(allHandlersFinished);
    if (failure !== undefined) throw failure;

    const final = readinessOf(gates);
    const status = final.status === 'ready' ? 'approved' : 'expired';
    await bookkeeping.closeRelease(publicId, status);
    closed = { stage: status, percent: 100, detail: null };
    return { publicId, status, readinessScore: final.readinessScore };
  } catch (err) {
    closing = true;
    // Added after the first release: runs canceled before it ended Canceled with the release left open.
    if (isCancellation(err) && patched('cancellation-cleanup')) {
      await CancellationScope.nonCancellable(() => bookkeeping.closeRelease(publicId, 'expired'));
      closed = { stage: 'expired', percent: 100, detail: 'the run was canceled' };
      throw err;
    }
    const reason = causeMessage(err);
    closed = { stage: 'failed', percent: 100, detail: reason };
    await bookkeeping.failRelease(publicId, `recording the release failed after retries: ${reason}`);
    throw err;
  }
}
