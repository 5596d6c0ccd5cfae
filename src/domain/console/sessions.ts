import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { hashToken, newId, randomToken, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import {
  endConsoleSession,
  findLiveConsoleSession,
  insertConsoleLink,
  insertConsoleSession,
  touchConsoleSession,
  useConsoleLink,
} from '../../storage/console.ts';
import type { Database } from '../../storage/schema.ts';
import { requireAdmin, type Actor } from '../actor.ts';
import { recordEvent } from '../events/events.ts';

/** A sign-in link works once, within minutes: long enough to paste it, short enough to be useless in a chat log. */
export const CONSOLE_LINK_TTL_MS = 10 * 60 * 1000;
/** A session left alone this long ends (OWASP ASVS 3.3.2 asks for an idle timeout). */
export const CONSOLE_IDLE_TIMEOUT_MS = 30 * 60 * 1000;
/** However busy, a session ends this long after sign-in; a new link is needed then. */
export const CONSOLE_ABSOLUTE_TIMEOUT_MS = 12 * 60 * 60 * 1000;
// How stale last_seen_at may get: writing it on every page view would turn reads into writes.
const LAST_SEEN_RESOLUTION_MS = 60_000;

export interface ConsoleServiceDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly config: { readonly publicUrl: string };
}

/** An operator's signed-in browser. */
export interface ConsoleSession {
  readonly id: string;
  /** What the console acts as: an admin, attributed to this session in every event. */
  readonly actor: Actor;
  /** What every form must post back as `_csrf`. */
  readonly csrfToken: string;
}

/** A per-session CSRF token: derived from the session secret, which only the HttpOnly cookie carries. */
function csrfTokenOf(secret: string): string {
  return createHash('sha256').update(`lanyard console csrf\n${secret}`).digest('base64url');
}

/**
 * The operator console's sign-in: an admin (API key or CLI) asks for a single-use link; opening it
 * starts a browser session whose cookie holds a secret of which only the hash is stored. The
 * session acts as an admin actor of its own id (`cses_…`), so the audit trail tells console actions apart.
 */
export function createConsoleService(deps: ConsoleServiceDeps) {
  const { db, clock, random } = deps;

  return {
    /** A new sign-in link; admins only. The answer alone holds the URL. */
    async createLink(actor: Actor): Promise<{ id: string; url: string; expiresAt: string }> {
      requireAdmin(actor, 'create console sign-in links');
      const now = clock();
      const id = newId('clk', now, random);
      const token = randomToken(random, 32);
      const expiresAt = new Date(now.getTime() + CONSOLE_LINK_TTL_MS);
      await db.transaction().execute(async (trx) => {
        await insertConsoleLink(trx, { id, token_hash: hashToken(token), created_by: actor.id, created_at: now, expires_at: expiresAt });
        await recordEvent(trx, { now, random }, actor, {
          type: 'console_link.created',
          organizationId: null,
          summary: { linkId: id, expiresAt: expiresAt.toISOString() },
        });
      });
      return { id, url: `${deps.config.publicUrl}/console/sign-in?token=${token}`, expiresAt: expiresAt.toISOString() };
    },

    /** Spends a link and opens a session; undefined when the link is unknown, used or expired. */
    async redeem(token: string, requestId: string): Promise<{ cookieValue: string; maxAgeSeconds: number } | undefined> {
      const now = clock();
      const secret = randomToken(random, 32);
      const id = newId('cses', now, random);
      const opened = await db.transaction().execute(async (trx) => {
        const linkId = await useConsoleLink(trx, hashToken(token), now);
        if (linkId === undefined) return false;
        const expiresAt = new Date(now.getTime() + CONSOLE_ABSOLUTE_TIMEOUT_MS);
        await insertConsoleSession(trx, {
          id,
          secret_hash: hashToken(secret),
          link_id: linkId,
          created_at: now,
          last_seen_at: now,
          expires_at: expiresAt,
        });
        await recordEvent(
          trx,
          { now, random },
          { id, organizationId: null, requestId },
          {
            type: 'console_session.opened',
            organizationId: null,
            summary: { sessionId: id, linkId },
          },
        );
        return true;
      });
      return opened ? { cookieValue: secret, maxAgeSeconds: CONSOLE_ABSOLUTE_TIMEOUT_MS / 1000 } : undefined;
    },

    /** The live session a cookie stands for (and keeps it from going idle); undefined otherwise. */
    async session(cookieValue: string | undefined, requestId: string): Promise<ConsoleSession | undefined> {
      if (!cookieValue) return undefined;
      const now = clock();
      const row = await findLiveConsoleSession(db, hashToken(cookieValue), now, new Date(now.getTime() - CONSOLE_IDLE_TIMEOUT_MS));
      if (row === undefined) return undefined;
      if (now.getTime() - row.last_seen_at.getTime() > LAST_SEEN_RESOLUTION_MS) await touchConsoleSession(db, row.id, now);
      return { id: row.id, actor: { id: row.id, organizationId: null, requestId }, csrfToken: csrfTokenOf(cookieValue) };
    },

    async signOut(session: ConsoleSession): Promise<void> {
      const now = clock();
      await db.transaction().execute(async (trx) => {
        await endConsoleSession(trx, session.id, now);
        await recordEvent(trx, { now, random }, session.actor, {
          type: 'console_session.ended',
          organizationId: null,
          summary: { sessionId: session.id },
        });
      });
    },
  };
}

export type ConsoleService = ReturnType<typeof createConsoleService>;
