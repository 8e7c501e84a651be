import { randomUUID } from 'node:crypto';
import type { CreateReleaseBody, ReleaseMetrics } from '../../schemas/releases';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Every auto gate passes with the default thresholds. */
export const PASSING_METRICS: Required<ReleaseMetrics> = {
  coverage: 0.91,
  testFailureRate: 0.005,
  criticalVulnerabilities: 0,
  highVulnerabilities: 2,
  openIncidents: 0,
  errorRate: 0.002,
};

/** Quality (coverage) and security (critical vulnerabilities) fail; observability passes. */
export const FAILING_METRICS: Required<ReleaseMetrics> = { ...PASSING_METRICS, coverage: 0.55, criticalVulnerabilities: 2 };

/** A release of a unique version in a unique environment, its two-hour window starting `startsInMs` from now. */
export function releaseBody(startsInMs = DAY_MS, extra: Partial<CreateReleaseBody> = {}): CreateReleaseBody {
  const start = Date.now() + startsInMs;
  return {
    version: `2.${Math.floor(start / 1000) % 100000}.${randomUUID().slice(0, 6)}`,
    environment: `test-${randomUUID().slice(0, 8)}`,
    changeWindowStart: new Date(start).toISOString(),
    changeWindowEnd: new Date(start + 2 * HOUR_MS).toISOString(),
    owners: ['release-captain'],
    ...extra,
  };
}
