import { defineQuery } from '@temporalio/workflow';

/** Every workflow answers `progress` with where it is. */
export interface Progress {
  stage: string;
  percent: number;
  detail: string | null;
}

export const progressQuery = defineQuery<Progress>('progress');
