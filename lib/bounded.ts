/** Runs `work` over `items`, at most `limit` at a time, keeping each item's value or error, in completion order. */
export async function eachBounded<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>) {
  const outcomes: Array<{ item: T; value?: R; error?: Error }> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++];
        try {
          outcomes.push({ item, value: await work(item) });
        } catch (err) {
          outcomes.push({ item, error: err as Error });
        }
      }
    }),
  );
  return outcomes;
}
