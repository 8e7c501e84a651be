import { BaseModel } from './BaseModel';
import type {
  EvaluationStatus,
  GateEvaluation,
  GateState,
  ReleaseEvaluationInput,
  ReleaseMetrics,
  ReleaseStatus,
  ReleaseView,
  ReleaseWarning,
} from '../../schemas/releases';
import { readinessOf } from '../../workflows/releaseEvaluation.contract';

export class ReleaseGateEvaluation extends BaseModel {
  static tableName = 'release_gate_evaluations';
  static jsonAttributes = ['metrics'];

  id!: string;
  releaseRunId!: string;
  seq!: number;
  gateKey!: string;
  status!: EvaluationStatus;
  source!: 'auto' | 'manual';
  metrics!: ReleaseMetrics | null;
  notes!: string | null;
  evidenceUrl!: string | null;
  actor!: string;
  createdAt!: Date;

  toView(): GateEvaluation {
    return {
      id: String(this.id),
      status: this.status,
      source: this.source,
      metrics: this.metrics,
      notes: this.notes,
      evidenceUrl: this.evidenceUrl,
      actor: this.actor,
      createdAt: this.createdAt.toISOString(),
    };
  }
}

export class ReleaseRun extends BaseModel {
  static tableName = 'release_runs';
  static idColumn = 'publicId';
  static jsonAttributes = ['owners', 'gates', 'warnings', 'initialMetrics'];

  publicId!: string;
  version!: string;
  environment!: string;
  changeWindowStart!: Date;
  changeWindowEnd!: Date;
  owners!: string[];
  status!: ReleaseStatus;
  /** The status its run closed with (null while the run is open). */
  closedStatus!: string | null;
  readinessScore!: number;
  gates!: GateState[];
  warnings!: ReleaseWarning[];
  initialMetrics!: ReleaseMetrics | null;
  revision!: number;
  workflowId!: string;
  createdBy!: string;
  failureReason!: string | null;
  createdAt!: Date;
  updatedAt!: Date;
  closedAt!: Date | null;

  /** The workflow input, rebuilt from the record alone (so a lost start can be repeated). */
  workflowInput(): ReleaseEvaluationInput {
    return {
      publicId: this.publicId,
      version: this.version,
      environment: this.environment,
      changeWindowStart: this.changeWindowStart.toISOString(),
      changeWindowEnd: this.changeWindowEnd.toISOString(),
      ...(this.initialMetrics ? { metrics: this.initialMetrics } : {}),
      checklist: this.gates.map(({ status: _status, ...gate }) => gate),
    };
  }

  toView(evaluations: ReleaseGateEvaluation[]): ReleaseView {
    return {
      publicId: this.publicId,
      version: this.version,
      environment: this.environment,
      status: this.status,
      readinessScore: this.readinessScore,
      changeWindowStart: this.changeWindowStart.toISOString(),
      changeWindowEnd: this.changeWindowEnd.toISOString(),
      owners: this.owners,
      blockingGates: readinessOf(this.gates).blockingGates,
      gates: this.gates.map((gate) => ({
        ...gate,
        evaluations: evaluations.filter((e) => e.gateKey === gate.key).map((e) => e.toView()),
      })),
      warnings: this.warnings,
      workflowId: this.workflowId,
      createdBy: this.createdBy,
      failureReason: this.failureReason,
      createdAt: this.createdAt.toISOString(),
      updatedAt: this.updatedAt.toISOString(),
      closedAt: this.closedAt ? this.closedAt.toISOString() : null,
    };
  }
}
