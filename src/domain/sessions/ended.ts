import type { Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Clock, RandomBytes } from '../../crypto/tokens.ts';
import type { Database, SessionRow } from '../../storage/schema.ts';
import { endExpiredSessions } from '../../storage/sessions.ts';
import { SYSTEM_ACTOR } from '../actor.ts';
import { recordEvent } from '../events/events.ts';
import { createPeriodicWorker, type BackgroundWorker } from '../jobs/loop.ts';
import { createNudge } from '../jobs/nudge.ts';

/** Records the `session.ended` event of each ended session, in the transaction that ended them. */
export async function recordSessionsEnded(
  trx: Transaction<Database>,
  context: { now: Date; random: RandomBytes },
  sessions: readonly SessionRow[],
  requestId: string | null,
): Promise<void> {
  for (const session of sessions) {
    await recordEvent(
      trx,
      context,
      { ...SYSTEM_ACTOR, requestId },
      {
        type: 'session.ended',
        organizationId: session.organization_id,
        summary: {
          sessionId: session.id,
          connectionId: session.connection_id,
          applicationId: session.application_id,
          sub: session.subject,
          endedBy: session.ended_by ?? 'expiry',
        },
      },
    );
  }
}

const BATCH = 100;

/** Ends the sessions past their expiry, a batch at a time, each with its `session.ended` event (endedBy `expiry`). */
export async function expireSessions(deps: { db: Kysely<Database>; clock: Clock; random: RandomBytes }): Promise<number> {
  return deps.db.transaction().execute(async (trx) => {
    const now = deps.clock();
    const ended = await endExpiredSessions(trx, now, BATCH);
    await recordSessionsEnded(trx, { now, random: deps.random }, ended, null);
    return ended.length;
  });
}

/** The background worker that ends expired sessions (registered with the others in deps.ts). */
export function createSessionExpiryWorker(deps: {
  db: Kysely<Database>;
  clock: Clock;
  random: RandomBytes;
  logger: Logger;
}): BackgroundWorker {
  return createPeriodicWorker({
    name: 'session expiry',
    step: () => expireSessions(deps),
    pollIntervalMs: 60_000,
    logger: deps.logger,
    nudge: createNudge(),
  });
}
