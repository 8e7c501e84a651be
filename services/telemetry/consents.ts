// The consent ledger: append-only, a user's consent in a scope is its newest row.
import { TelemetryConsent } from '../../db/models/Telemetry';
import type { Db } from '../../lib/db';
import type { ConsentView, RecordConsentBody } from '../../schemas/telemetry';
import { holdIngestionExclusive, suppressPendingEvents } from './exportProtocol';

/** Records a decision; a revocation also suppresses that user's events in that scope not yet claimed for export. */
export async function recordConsent(
  db: Db,
  decision: RecordConsentBody,
  recordedBy: string,
): Promise<{ consent: ConsentView; suppressedEvents: number }> {
  return db.transaction(async (trx) => {
    const revoked = decision.status === 'revoked';
    if (revoked) await holdIngestionExclusive(trx);
    const consent = await TelemetryConsent.query(trx).insertAndFetch({ ...decision, recordedBy });
    const suppressedEvents = revoked ? await suppressPendingEvents(trx, decision.userId, decision.scope) : 0;
    return { consent: consent.toView(), suppressedEvents };
  });
}
