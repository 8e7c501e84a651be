import { BaseModel } from './BaseModel';
import type { RetentionAction, RetentionEntity } from '../retentionEntities';
import type {
  RetentionAuditLogView,
  RetentionCriteria,
  RetentionPolicyView,
  RetentionRunPolicyView,
  RetentionRunStatus,
} from '../../schemas/retention';

export class RetentionPolicy extends BaseModel {
  static tableName = 'data_retention_policies';
  static jsonAttributes = ['criteria'];

  id!: string;
  entity!: RetentionEntity;
  action!: RetentionAction;
  retentionDays!: number;
  criteria!: RetentionCriteria;
  active!: boolean;
  consecutiveFailures!: number;
  restingUntil!: Date | null;
  lastError!: string | null;
  createdAt!: Date;
  updatedAt!: Date;

  toView(): RetentionPolicyView {
    return {
      id: this.id,
      entity: this.entity,
      action: this.action,
      retentionDays: this.retentionDays,
      criteria: this.criteria,
      active: this.active,
      consecutiveFailures: this.consecutiveFailures,
      restingUntil: this.restingUntil?.toISOString() ?? null,
      lastError: this.lastError,
      createdAt: this.createdAt.toISOString(),
      updatedAt: this.updatedAt.toISOString(),
    };
  }
}

export type RetentionRunPolicyStatus = RetentionRunPolicyView['status'];

export class RetentionRunPolicy extends BaseModel {
  static tableName = 'retention_run_policies';
  static idColumn = ['retentionRunId', 'policyId'];
  static jsonAttributes = ['criteria', 'sampleIds'];

  retentionRunId!: string;
  policyId!: string;
  position!: number;
  entity!: RetentionEntity;
  action!: RetentionAction;
  criteria!: RetentionCriteria;
  cutoffAt!: Date;
  status!: RetentionRunPolicyStatus;
  matched!: number;
  affected!: number;
  sampleIds!: string[];
  cursorAt!: string | null;
  cursorKey!: string | null;
  error!: string | null;

  toView(): RetentionRunPolicyView {
    return {
      policyId: this.policyId,
      entity: this.entity,
      action: this.action,
      status: this.status,
      cutoffAt: this.cutoffAt.toISOString(),
      matched: Number(this.matched),
      affected: Number(this.affected),
      sampleIds: this.sampleIds,
      error: this.error,
    };
  }
}

export class RetentionRun extends BaseModel {
  static tableName = 'retention_runs';

  id!: string;
  workflowId!: string;
  status!: RetentionRunStatus;
  /** The status its run closed with (null while the run is open). */
  closedStatus!: string | null;
  dryRun!: boolean;
  trigger!: 'api' | 'schedule';
  requestedBy!: string | null;
  asOf!: Date;
  createdAt!: Date;
  completedAt!: Date | null;
  policies?: RetentionRunPolicy[];

  static relationMappings = () => ({
    policies: {
      relation: BaseModel.HasManyRelation,
      modelClass: RetentionRunPolicy,
      join: { from: 'retention_runs.id', to: 'retention_run_policies.retentionRunId' },
    },
  });
}

export class RetentionAuditLog extends BaseModel {
  static tableName = 'data_retention_audit_logs';
  static jsonAttributes = ['sampleIds'];

  id!: string;
  retentionRunId!: string;
  policyId!: string;
  entity!: RetentionEntity;
  action!: RetentionAction;
  cutoffAt!: Date;
  matched!: number;
  affected!: number;
  sampleIds!: string[];
  workflowId!: string;
  runId!: string;
  createdAt!: Date;

  toView(): RetentionAuditLogView {
    return {
      id: String(this.id),
      retentionRunId: this.retentionRunId,
      policyId: this.policyId,
      entity: this.entity,
      action: this.action,
      cutoffAt: this.cutoffAt.toISOString(),
      matched: Number(this.matched),
      affected: Number(this.affected),
      sampleIds: this.sampleIds,
      workflowId: this.workflowId,
      runId: this.runId,
      createdAt: this.createdAt.toISOString(),
    };
  }
}
