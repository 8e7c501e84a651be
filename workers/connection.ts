// The workers' native connection: only workers and tests load @temporalio/worker, never the API.
import { NativeConnection } from '@temporalio/worker';
import { connectionOptions, type TemporalSettings } from '../lib/temporal';

export function connectWorkerConnection(settings: TemporalSettings): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(settings));
}
