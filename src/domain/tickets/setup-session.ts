import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { constantTimeEqual, hashToken, randomToken, type RandomBytes } from '../../crypto/tokens.ts';
import type { Database, SsoTicketRow } from '../../storage/schema.ts';
import { insertTicketSession, ticketSessionExists } from '../../storage/tickets.ts';

/** How long a browser may work on a setup page before it must reload it (the link itself lasts longer). */
const SETUP_SESSION_TTL_MS = 2 * 60 * 60 * 1000;

/** A browser's session on one ticket's setup page. */
export interface SetupSession {
  /** The cookie value: the ticket token and the session secret (see {@link setupCookieValue}). */
  cookieValue: string;
  /** The ticket token, so pages reached without it in the URL (a test result) can link back. */
  token: string;
  /** What every form of this session must post back as `_csrf`. */
  csrfToken: string;
  /** How long the cookie should live, from now. */
  maxAgeSeconds: number;
}

/** One cookie per ticket, so two setup links open in one browser do not log each other out. */
export function setupCookieName(ticketId: string): string {
  return `lanyard_setup_${ticketId}`;
}

/**
 * The cookie carries the ticket token beside the session secret: the end of a test sign-in comes
 * back through the ACS, which knows the login flow but not the token (only its hash is stored),
 * and the result page must still lead back to the setup page. The browser holds the token in its
 * address bar and history anyway; the cookie is HttpOnly and limited to /setup.
 */
function setupCookieValue(token: string, secret: string): string {
  return `${token}.${secret}`;
}

/** A per-session CSRF token: derived from the session secret, which only the HttpOnly cookie carries. */
function csrfTokenOf(secret: string): string {
  return createHash('sha256').update(`lanyard setup csrf\n${secret}`).digest('base64url');
}

/** Starts a session for a browser that opened the ticket's URL; only the secret's hash is stored. */
export async function openSetupSession(
  db: Kysely<Database>,
  deps: { random: RandomBytes; now: Date },
  ticket: SsoTicketRow,
  token: string,
): Promise<SetupSession> {
  const secret = randomToken(deps.random, 32);
  const expiresAt = new Date(Math.min(deps.now.getTime() + SETUP_SESSION_TTL_MS, ticket.expires_at.getTime()));
  await insertTicketSession(db, { secretHash: hashToken(secret), ticketId: ticket.id, now: deps.now, expiresAt });
  const maxAgeSeconds = Math.max(1, Math.floor((expiresAt.getTime() - deps.now.getTime()) / 1000));
  return { cookieValue: setupCookieValue(token, secret), token, csrfToken: csrfTokenOf(secret), maxAgeSeconds };
}

/**
 * The session a cookie stands for, when it belongs to this ticket and has not ended; undefined
 * otherwise (no cookie, another ticket's, a forged or an ended one).
 */
export async function readSetupSession(
  db: Kysely<Database>,
  now: Date,
  ticket: SsoTicketRow,
  cookieValue: string | undefined,
): Promise<SetupSession | undefined> {
  const [token, secret, extra] = (cookieValue ?? '').split('.');
  if (!token || !secret || extra !== undefined) return undefined;
  if (!constantTimeEqual(hashToken(token), ticket.token_hash)) return undefined;
  if (!(await ticketSessionExists(db, hashToken(secret), ticket.id, now))) return undefined;
  return { cookieValue: setupCookieValue(token, secret), token, csrfToken: csrfTokenOf(secret), maxAgeSeconds: 0 };
}

/** True when a form posted this session's CSRF token (compared in constant time). */
export function csrfMatches(session: SetupSession, submitted: string | undefined): boolean {
  return submitted !== undefined && constantTimeEqual(submitted, session.csrfToken);
}
