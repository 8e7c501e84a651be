// The release checklist: the five gates, their criteria from the RELEASE_* thresholds,
// which are required (RELEASE_REQUIRED_GATES) and who owns each by default.
import type { ChecklistGate, Criterion, GateKey } from '../schemas/releases';
import type { Config } from './config';

export type ChecklistSettings = Pick<
  Config,
  | 'RELEASE_REQUIRED_GATES'
  | 'RELEASE_MIN_COVERAGE'
  | 'RELEASE_MAX_TEST_FAILURE_RATE'
  | 'RELEASE_MAX_CRITICAL_VULNERABILITIES'
  | 'RELEASE_MAX_HIGH_VULNERABILITIES'
  | 'RELEASE_MAX_OPEN_INCIDENTS'
  | 'RELEASE_MAX_ERROR_RATE'
>;

const atLeast = (metric: Criterion['metric'], threshold: number): Criterion => ({ metric, comparison: 'atLeast', threshold });
const atMost = (metric: Criterion['metric'], threshold: number): Criterion => ({ metric, comparison: 'atMost', threshold });

export function releaseChecklist(config: ChecklistSettings): ChecklistGate[] {
  const required = new Set(config.RELEASE_REQUIRED_GATES);
  const gate = (key: GateKey, title: string, defaultOwners: string[], criteria: Criterion[]): ChecklistGate => ({
    key,
    title,
    kind: criteria.length > 0 ? 'auto' : 'manual',
    required: required.has(key),
    criteria,
    defaultOwners,
  });
  return [
    gate('quality', 'Test coverage and failure rate', ['qa'], [
      atLeast('coverage', config.RELEASE_MIN_COVERAGE),
      atMost('testFailureRate', config.RELEASE_MAX_TEST_FAILURE_RATE),
    ]),
    gate('security', 'Known vulnerabilities', ['security'], [
      atMost('criticalVulnerabilities', config.RELEASE_MAX_CRITICAL_VULNERABILITIES),
      atMost('highVulnerabilities', config.RELEASE_MAX_HIGH_VULNERABILITIES),
    ]),
    gate('observability', 'Open incidents and error rate', ['sre'], [
      atMost('openIncidents', config.RELEASE_MAX_OPEN_INCIDENTS),
      atMost('errorRate', config.RELEASE_MAX_ERROR_RATE),
    ]),
    gate('compliance', 'Compliance sign-off', ['compliance'], []),
    gate('change', 'Change approval (CAB)', ['release-management'], []),
  ];
}
