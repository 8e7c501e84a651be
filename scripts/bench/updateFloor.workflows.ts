// The floor of `bench:releases`: a workflow that does nothing but answer Updates, bundled on its own
// (never part of workflows/), so the bench can time a bare Update round trip on this server and worker.
import { condition, defineSignal, defineUpdate, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { FloorActivities } from './updateFloor';

export const noopUpdate = defineUpdate<number, [number]>('noop');
export const localNoopUpdate = defineUpdate<number, [number]>('localNoop');
export const localWriteUpdate = defineUpdate<number, [number]>('localWrite');
export const stopSignal = defineSignal('stop');

// The release workflow's local-activity options, so the two paths differ only in what the handler does.
const local = proxyLocalActivities<FloorActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
});

export async function updateFloor(): Promise<void> {
  let stopped = false;
  setHandler(noopUpdate, (i) => i);
  setHandler(localNoopUpdate, async (i) => {
    await local.floorNoop();
    return i;
  });
  setHandler(localWriteUpdate, async (i) => {
    await local.floorWrite(i);
    return i;
  });
  setHandler(stopSignal, () => {
    stopped = true;
  });
  await condition(() => stopped);
}
