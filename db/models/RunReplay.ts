import { BaseModel } from './BaseModel';

export class RunReplay extends BaseModel {
  static tableName = 'run_replays';
  id!: string;
  workflowId!: string;
  workflowType!: string;
  oldRunId!: string;
  newRunId!: string;
  mode!: 'reset' | 'restart';
  reason!: string;
  requestedBy!: string;
  bulkId!: string | null;
  createdAt!: Date;
}
