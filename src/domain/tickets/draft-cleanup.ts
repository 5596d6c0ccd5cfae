import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock } from '../../crypto/tokens.ts';
import { findAbandonedDrafts } from '../../storage/tickets.ts';
import type { Database } from '../../storage/schema.ts';
import { SYSTEM_ACTOR } from '../actor.ts';
import type { ConnectionService } from '../connections/connections.ts';
import { AppError } from '../errors.ts';
import { createNudge } from '../jobs/nudge.ts';
import { createPeriodicWorker, type BackgroundWorker } from '../jobs/loop.ts';

const BATCH = 100;

/**
 * Deletes the draft connections that setup tickets created and nobody finished (the ticket expired
 * or was revoked before its setup was activated), so abandoned links leave no orphan drafts behind.
 * Each goes through the connection service, with a `connection.deleted` event by the system. Every
 * instance may run it: a draft another instance deleted first is skipped.
 */
export function createDraftCleanupWorker(deps: {
  db: Kysely<Database>;
  clock: Clock;
  logger: Logger;
  connections: Pick<ConnectionService, 'delete'>;
  pollIntervalMs?: number;
}): BackgroundWorker {
  async function step(): Promise<number> {
    const drafts = await findAbandonedDrafts(deps.db, deps.clock(), BATCH);
    for (const id of drafts) {
      try {
        await deps.connections.delete(SYSTEM_ACTOR, id);
      } catch (error) {
        if (!(error instanceof AppError && error.code === 'not_found')) throw error;
      }
    }
    if (drafts.length > 0) deps.logger.info({ deleted: drafts.length }, 'deleted the drafts of abandoned setup tickets');
    // A full batch may have more behind it: the loop steps again at once.
    return drafts.length === BATCH ? drafts.length : 0;
  }
  return createPeriodicWorker({
    name: 'setup draft cleanup',
    step,
    pollIntervalMs: deps.pollIntervalMs ?? 10 * 60 * 1000,
    logger: deps.logger,
    nudge: createNudge(),
  });
}
