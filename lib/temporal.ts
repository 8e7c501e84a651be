// The client side of Temporal, as the API, scripts and schedule sync use it: no worker code here, so the
// API never loads the worker's native core (workers/connection.ts opens the workers' connection).
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import { readFileSync } from 'node:fs';
import type { Config } from './config';
import { dataConverterOf, type PayloadEncryptionSettings } from './dataConverter';
import type { Run } from '../schemas/common';

export type TemporalSettings = Pick<
  Config,
  | 'TEMPORAL_ADDRESS'
  | 'TEMPORAL_NAMESPACE'
  | 'TEMPORAL_TLS_CERT'
  | 'TEMPORAL_TLS_KEY'
  | 'TEMPORAL_TLS_CA'
  | 'TEMPORAL_API_KEY'
  | 'TEMPORAL_UI_URL'
> &
  PayloadEncryptionSettings;

/** Search attributes every run carries, so operators find it by what the business calls it. */
export const DOMAIN = defineSearchAttributeKey('Domain', SearchAttributeType.KEYWORD);
export const BUSINESS_KEY = defineSearchAttributeKey('BusinessKey', SearchAttributeType.KEYWORD);

export const runSearchAttributes = (domain: string, businessKey: string) =>
  new TypedSearchAttributes([
    { key: DOMAIN, value: domain },
    { key: BUSINESS_KEY, value: businessKey },
  ]);

/** Address and credentials, shared by the client connection and the workers' native one. */
export function connectionOptions(settings: TemporalSettings) {
  const mtls = settings.TEMPORAL_TLS_CERT && settings.TEMPORAL_TLS_KEY
    ? {
        clientCertPair: { crt: readFileSync(settings.TEMPORAL_TLS_CERT), key: readFileSync(settings.TEMPORAL_TLS_KEY) },
        // A self-managed cluster's own CA (the stack's, compose's); unset, the system CAs verify the server.
        ...(settings.TEMPORAL_TLS_CA ? { serverRootCACertificate: readFileSync(settings.TEMPORAL_TLS_CA) } : {}),
      }
    : undefined;
  return {
    address: settings.TEMPORAL_ADDRESS,
    tls: mtls ?? (settings.TEMPORAL_API_KEY ? true : undefined),
    apiKey: settings.TEMPORAL_API_KEY,
  };
}

export async function connectClient(settings: TemporalSettings): Promise<Client> {
  const connection = await Connection.connect({ ...connectionOptions(settings), connectTimeout: '10 seconds' });
  return new Client({ connection, namespace: settings.TEMPORAL_NAMESPACE, dataConverter: dataConverterOf(settings) });
}

/** The Temporal UI link of one run; IDs are path-encoded the way the UI routes them. */
export function runUiUrl(settings: TemporalSettings, workflowId: string, runId: string): string {
  const base = settings.TEMPORAL_UI_URL.replace(/\/+$/, '');
  const ns = encodeURIComponent(settings.TEMPORAL_NAMESPACE);
  return `${base}/namespaces/${ns}/workflows/${encodeURIComponent(workflowId)}/${encodeURIComponent(runId)}/history`;
}

/** Temporal's status names as the API reports them (`RUNNING` → `Running`, `TIMED_OUT` → `TimedOut`). */
export function statusName(name: string | undefined): Run['status'] {
  const known: Record<string, Run['status']> = {
    RUNNING: 'Running',
    COMPLETED: 'Completed',
    FAILED: 'Failed',
    CANCELLED: 'Canceled',
    CANCELED: 'Canceled',
    TERMINATED: 'Terminated',
    TIMED_OUT: 'TimedOut',
    CONTINUED_AS_NEW: 'ContinuedAsNew',
  };
  return known[name ?? ''] ?? 'Unknown';
}

export async function describeRun(settings: TemporalSettings, handle: WorkflowHandle): Promise<Run> {
  const d = await handle.describe();
  return {
    workflowId: d.workflowId,
    runId: d.runId,
    type: d.type,
    status: statusName(d.status.name),
    uiUrl: runUiUrl(settings, d.workflowId, d.runId),
  };
}

/** A run the server has just reported running (a start's answer): nothing left to ask it. */
export function runningRun(settings: TemporalSettings, type: string, workflowId: string, runId: string): Run {
  return { workflowId, runId, type, status: 'Running', uiUrl: runUiUrl(settings, workflowId, runId) };
}
