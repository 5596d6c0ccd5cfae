import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Clock, RandomBytes } from '../../crypto/tokens.ts';
import type { GuardedFetch } from '../../net/guarded-request.ts';
import type { BackchannelLogoutRow, Database } from '../../storage/schema.ts';
import { claimBackchannelLogouts, findSession, recordBackchannelAttempt } from '../../storage/sessions.ts';
import type { ApplicationService } from '../applications/applications.ts';
import { createPeriodicWorker, type BackgroundWorker } from '../jobs/loop.ts';
import { createNudge } from '../jobs/nudge.ts';
import type { DeploymentKeys } from '../keys/deployment-keys.ts';
import { err, type Result } from '../result.ts';
import { retryDelay } from '../webhooks/schedule.ts';
import { sendLogoutToken, signLogoutToken } from './logout-token.ts';

/** Each attempt's time limit; the lease outlasts it so a live sender always records before it ends. */
export const BACKCHANNEL_ATTEMPT_TIMEOUT_MS = 5000;
const LEASE_MS = BACKCHANNEL_ATTEMPT_TIMEOUT_MS + 5000;
const BATCH = 20;

export interface BackchannelDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly publicUrl: string;
  readonly deploymentKeys: DeploymentKeys;
  readonly applications: Pick<ApplicationService, 'findById'>;
  /** The outbound guard, with the attempt time limit. */
  readonly fetch: GuardedFetch;
}

/**
 * Back-Channel Logout deliveries (OpenID Connect Back-Channel Logout 1.0 §2.5): rows owed when the
 * IdP ended sessions, tried at once for the IdP's answer, then retried on the webhook schedule
 * (README, "Webhooks") by whichever instance claims them. Each attempt signs a fresh logout_token.
 */
export function createBackchannelLogout(deps: BackchannelDeps) {
  const { db, clock, random } = deps;
  const tokenDeps = { deploymentKeys: deps.deploymentKeys, issuer: deps.publicUrl, random };

  async function attempt(row: BackchannelLogoutRow): Promise<Result<void, string>> {
    const session = await findSession(db, row.session_id);
    const application = session === undefined ? undefined : await deps.applications.findById(session.application_id);
    if (session === undefined || application?.backchannelLogoutUri == null) {
      return err('the application no longer has a backchannelLogoutUri');
    }
    const token = await signLogoutToken(
      { clientId: application.clientId, subject: session.subject, sid: session.id, now: clock() },
      tokenDeps,
    );
    return sendLogoutToken(deps.fetch, application.backchannelLogoutUri, token);
  }

  /** One attempt on a claimed row, recorded: delivered, due again later, or failed for good. */
  async function send(row: BackchannelLogoutRow): Promise<boolean> {
    const result = await attempt(row);
    const attempts = row.attempt_count + 1;
    const now = clock();
    if (result.ok) {
      await recordBackchannelAttempt(db, row.session_id, {
        status: 'delivered',
        attempt_count: attempts,
        next_attempt_at: null,
        last_error: null,
        delivered_at: now,
      });
      return true;
    }
    const delay = retryDelay(attempts, random);
    await recordBackchannelAttempt(db, row.session_id, {
      status: delay === undefined ? 'failed' : 'pending',
      attempt_count: attempts,
      next_attempt_at: delay === undefined ? null : new Date(now.getTime() + delay),
      last_error: result.error.slice(0, 500),
      delivered_at: null,
    });
    return false;
  }

  const lease = () => {
    const now = clock();
    return { now, leaseUntil: new Date(now.getTime() + LEASE_MS) };
  };

  return {
    /** Tries the logouts owed for `sessionIds` now; true when every one was delivered. */
    async deliverNow(sessionIds: readonly string[]): Promise<boolean> {
      const claimed = await claimBackchannelLogouts(db, { ...lease(), limit: sessionIds.length, ids: sessionIds });
      const delivered = await Promise.all(claimed.map(send));
      return claimed.length === sessionIds.length && delivered.every(Boolean);
    },

    /** One step of the retry worker: the due logouts, each tried once. */
    async step(): Promise<number> {
      const claimed = await claimBackchannelLogouts(db, { ...lease(), limit: BATCH });
      await Promise.all(claimed.map(send));
      return claimed.length;
    },
  };
}

export type BackchannelLogout = ReturnType<typeof createBackchannelLogout>;

/** The background worker that retries back-channel logouts (registered with the others in deps.ts). */
export function createBackchannelWorker(backchannel: BackchannelLogout, logger: Logger): BackgroundWorker {
  return createPeriodicWorker({
    name: 'back-channel logout',
    step: () => backchannel.step(),
    pollIntervalMs: 5000,
    logger,
    nudge: createNudge(),
  });
}
