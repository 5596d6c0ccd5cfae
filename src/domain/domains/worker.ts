import type { Logger } from 'pino';
import { createPeriodicWorker, type BackgroundWorker } from '../jobs/loop.ts';
import { createNudge } from '../jobs/nudge.ts';
import type { DomainService } from './domains.ts';

/** Domains checked at once by one instance per step. */
const CHECK_BATCH = 10;

/**
 * Re-checks pending domains on verification.ts's schedule (every minute at first, hourly later,
 * for 7 days). Every instance runs it; a claim leases each domain to one instance at a time.
 * The schedule's finest step is a minute, so polling every 15 s keeps checks close to their slots.
 */
export function createDomainCheckWorker(deps: { domains: DomainService; logger: Logger }, pollIntervalMs = 15_000): BackgroundWorker {
  return createPeriodicWorker({
    name: 'domain verification re-check',
    step: () => deps.domains.checkDue(CHECK_BATCH),
    pollIntervalMs,
    logger: deps.logger,
    nudge: createNudge(),
  });
}
