// GET /ready's answer: every dependency probed, Stripe reported but not required, and one answer
// shared for a few seconds so that probes cannot load the database (SPEC §3).
import { expect } from 'chai';
import { cachedReadiness, READINESS_CACHE_MS, type ReadinessProbes } from '../../services/readiness';

function countingProbes(failing: Partial<Record<keyof ReadinessProbes, string>> = {}) {
  const calls: string[] = [];
  const probe = (name: keyof ReadinessProbes) => async () => {
    calls.push(name);
    if (failing[name]) throw new Error(failing[name]);
    return `${name} fine`;
  };
  const probes: ReadinessProbes = {
    database: probe('database'),
    migrations: probe('migrations'),
    temporal: probe('temporal'),
    storage: probe('storage'),
    scanner: probe('scanner'),
    stripe: probe('stripe'),
  };
  return { probes, calls };
}

describe('readiness (GET /ready)', () => {
  it('is ready when every required dependency answers, naming each check', async () => {
    const { probes } = countingProbes();
    const answer = await cachedReadiness(probes)();
    expect(answer.ready).to.equal(true);
    expect(answer.checks.temporal).to.deep.equal({ ok: true, detail: 'temporal fine' });
  });

  it('reports Stripe down without becoming unready, and a required dependency down as unready', async () => {
    expect((await cachedReadiness(countingProbes({ stripe: 'HTTP 500' }).probes)()).ready).to.equal(true);
    const scannerDown = await cachedReadiness(countingProbes({ scanner: 'connect ECONNREFUSED' }).probes)();
    expect(scannerDown.ready).to.equal(true);
    expect(scannerDown.checks.scanner).to.deep.equal({ ok: false, detail: 'connect ECONNREFUSED' });
    const storageDown = await cachedReadiness(countingProbes({ storage: 'bucket gone' }).probes)();
    expect(storageDown.ready).to.equal(false);
    expect(storageDown.checks.storage).to.deep.equal({ ok: false, detail: 'bucket gone' });
  });

  it('probes once per cache period, however many callers ask', async () => {
    const { probes, calls } = countingProbes();
    let now = 1_000_000;
    const ready = cachedReadiness(probes, () => now);
    await Promise.all([ready(), ready(), ready()]);
    now += READINESS_CACHE_MS - 1;
    await ready();
    expect(calls.filter((c) => c === 'database')).to.have.length(1);
    now += 1;
    await ready();
    expect(calls.filter((c) => c === 'database')).to.have.length(2);
  });
});
