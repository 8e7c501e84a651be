// `npm run schedules:sync`: the one bootstrap step that creates or updates every schedule of the platform
// (lib/schedules.ts), run by `make up` and by compose's one-shot `schedules` job, never by each worker.
// It updates specs and creates what is missing, and pauses or unpauses only when a `*_ENABLED` setting
// changed since the last sync, so an operator's pause survives restarts and deploys.
import { loadConfigOrExit } from '../lib/config';
import { triggerSchedule } from '../lib/clients/schedules';
import { scheduleDefinitions, syncSchedules } from '../lib/schedules';
import { connectClient } from '../lib/temporal';
import { TELEMETRY_EXPORT_SCHEDULE_ID } from '../workflows/telemetryExport.contract';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const client = await connectClient(config);
  try {
    const synced = await syncSchedules(client, scheduleDefinitions(config));
    console.log(`schedules synced in namespace ${config.TEMPORAL_NAMESPACE}: ${synced.join(', ')}`);
    // One export now instead of at the next tick (skipped, like any overlap, while one runs).
    if (config.TELEMETRY_EXPORT_RUN_ON_STARTUP && config.TELEMETRY_EXPORT_ENABLED) {
      await triggerSchedule(client, TELEMETRY_EXPORT_SCHEDULE_ID);
      console.log(`triggered ${TELEMETRY_EXPORT_SCHEDULE_ID} (TELEMETRY_EXPORT_RUN_ON_STARTUP)`);
    }
  } finally {
    await client.connection.close();
  }
}

main().catch((err: Error) => {
  console.error(`schedules:sync failed: ${err.message}`);
  process.exit(1);
});
