// The load loop the benches share (bench:starts, bench:payments, bench:assets): omes' GenericExecutor, a fixed
// number of iterations, at most `concurrency` in flight, a new one begun as soon as one ends, each
// iteration's latency recorded.

export interface Figures {
  perSecond: number;
  p50: number;
  p99: number;
}

/** `iterations` runs of `iteration`, at most `concurrency` at once: throughput and latency percentiles (ms). */
export async function loadShape(iterations: number, concurrency: number, iteration: () => Promise<void>): Promise<Figures> {
  const latencies: number[] = [];
  let begun = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (begun < iterations) {
        begun += 1;
        const t = process.hrtime.bigint();
        await iteration();
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  return { perSecond: iterations / seconds, p50: at(0.5), p99: at(0.99) };
}

/** The same shape untimed first (connections, JIT, the server's caches), then timed. */
export async function measured(iterations: number, concurrency: number, iteration: () => Promise<void>): Promise<Figures> {
  await loadShape(concurrency * 5, concurrency, iteration);
  return loadShape(iterations, concurrency, iteration);
}
