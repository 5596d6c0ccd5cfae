import { sql, type Insertable, type Kysely, type Updateable } from 'kysely';
import type { Database, SsoTicketRow, SsoTicketsTable } from './schema.ts';

/** Filters of the ticket list; `after` is the last id of the previous page. */
export interface TicketListFilter {
  organizationId: string;
  status?: 'open' | 'completed' | 'expired' | 'revoked' | undefined;
  now: Date;
  after?: string | undefined;
  limit: number;
  /** Newest first (the console's order), `after` then being the last, older, id seen. */
  newestFirst?: boolean;
}

/** Inserts one ticket. JSON columns take values; they are serialised here. */
export async function insertTicket(db: Kysely<Database>, row: Insertable<SsoTicketsTable>): Promise<SsoTicketRow> {
  return db.insertInto('sso_tickets').values(serialise(row)).returningAll().executeTakeFirstOrThrow();
}

/** One ticket by id, whoever owns it (callers check visibility). */
export async function findTicket(db: Kysely<Database>, id: string): Promise<SsoTicketRow | undefined> {
  return db.selectFrom('sso_tickets').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The ticket whose token hashes to `tokenHash`. */
export async function findTicketByTokenHash(db: Kysely<Database>, tokenHash: string): Promise<SsoTicketRow | undefined> {
  return db.selectFrom('sso_tickets').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

/** The ticket a test sign-in's login flow belongs to. */
export async function findTicketOfTestFlow(db: Kysely<Database>, flowId: string): Promise<SsoTicketRow | undefined> {
  return db
    .selectFrom('sso_tickets')
    .innerJoin('login_flows', 'login_flows.setup_ticket_id', 'sso_tickets.id')
    .selectAll('sso_tickets')
    .where('login_flows.id', '=', flowId)
    .executeTakeFirst();
}

/** `limit + 1` tickets of one organization in id (creation) order, for toPage; status as ticketStatus computes it. */
export async function listTickets(db: Kysely<Database>, filter: TicketListFilter): Promise<SsoTicketRow[]> {
  let q = db
    .selectFrom('sso_tickets')
    .selectAll()
    .where('organization_id', '=', filter.organizationId)
    .orderBy('id', filter.newestFirst ? 'desc' : 'asc')
    .limit(filter.limit + 1);
  if (filter.after !== undefined) q = q.where('id', filter.newestFirst ? '<' : '>', filter.after);
  switch (filter.status) {
    case 'revoked':
      q = q.where('revoked_at', 'is not', null);
      break;
    case 'completed':
      q = q.where('revoked_at', 'is', null).where('completed_at', 'is not', null);
      break;
    case 'expired':
      q = q.where('revoked_at', 'is', null).where('completed_at', 'is', null).where('expires_at', '<=', filter.now);
      break;
    case 'open':
      q = q.where('revoked_at', 'is', null).where('completed_at', 'is', null).where('expires_at', '>', filter.now);
      break;
  }
  return q.execute();
}

/**
 * Changes a ticket only while it is open (not revoked, completed or expired at `now`), so a change
 * racing a revocation or an activation in another request cannot land after it. Undefined when not open.
 */
export async function updateOpenTicket(
  db: Kysely<Database>,
  id: string,
  now: Date,
  change: Updateable<SsoTicketsTable>,
): Promise<SsoTicketRow | undefined> {
  return db
    .updateTable('sso_tickets')
    .set(serialise(change))
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .where('completed_at', 'is', null)
    .where('expires_at', '>', now)
    .returningAll()
    .executeTakeFirst();
}

/**
 * Adds `domain` to the domains an open ticket's admin entered, in one statement so two pages of one
 * ticket adding at once both land: `added`, `present` (already there), `full` (`max` reached), or
 * `closed` (the ticket is not open at `now`).
 */
export async function addEnteredDomain(
  db: Kysely<Database>,
  ticket: { id: string; now: Date; domain: string; max: number },
): Promise<'added' | 'present' | 'full' | 'closed'> {
  const added = await db
    .updateTable('sso_tickets')
    .set({ entered_domains: sql<string[]>`entered_domains || jsonb_build_array(${ticket.domain}::text)` })
    .where('id', '=', ticket.id)
    .where('revoked_at', 'is', null)
    .where('completed_at', 'is', null)
    .where('expires_at', '>', ticket.now)
    .where(sql<boolean>`not (entered_domains ? ${ticket.domain}::text)`)
    .where(sql<number>`jsonb_array_length(entered_domains)`, '<', ticket.max)
    .returning('id')
    .executeTakeFirst();
  if (added !== undefined) return 'added';
  const current = await db
    .selectFrom('sso_tickets')
    .select('entered_domains')
    .where('id', '=', ticket.id)
    .where('revoked_at', 'is', null)
    .where('completed_at', 'is', null)
    .where('expires_at', '>', ticket.now)
    .executeTakeFirst();
  if (current === undefined) return 'closed';
  return current.entered_domains.includes(ticket.domain) ? 'present' : 'full';
}

/** Removes `domain` from the domains an open ticket's admin entered; false when the ticket is not open. */
export async function removeEnteredDomain(db: Kysely<Database>, ticket: { id: string; now: Date; domain: string }): Promise<boolean> {
  const row = await db
    .updateTable('sso_tickets')
    .set({ entered_domains: sql<string[]>`entered_domains - ${ticket.domain}::text` })
    .where('id', '=', ticket.id)
    .where('revoked_at', 'is', null)
    .where('completed_at', 'is', null)
    .where('expires_at', '>', ticket.now)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Records the directory a ticket's setup page created, once: false when the ticket already has one
 * (another request created it first). Open or completed alike: directory sync outlives activation.
 */
export async function setTicketDirectory(db: Kysely<Database>, ticketId: string, directoryId: string): Promise<boolean> {
  const updated = await db
    .updateTable('sso_tickets')
    .set({ directory_id: directoryId })
    .where('id', '=', ticketId)
    .where('directory_id', 'is', null)
    .executeTakeFirst();
  return updated.numUpdatedRows > 0n;
}

/** Remembers a ticket's latest test sign-in (in the transaction that ends its flow). */
export async function markLastTest(db: Kysely<Database>, ticketId: string, test: { flowId: string; at: Date; ok: boolean }): Promise<void> {
  await db
    .updateTable('sso_tickets')
    .set({ last_test_flow_id: test.flowId, last_test_at: test.at, last_test_ok: test.ok })
    .where('id', '=', ticketId)
    .execute();
}

/** Marks a ticket revoked (once: a revoked ticket keeps its first revocation time). */
export async function revokeTicket(db: Kysely<Database>, id: string, now: Date): Promise<boolean> {
  const row = await db
    .updateTable('sso_tickets')
    .set({ revoked_at: now })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Ends every setup-page session of a ticket (it was revoked). */
export async function deleteTicketSessions(db: Kysely<Database>, ticketId: string): Promise<void> {
  await db.deleteFrom('sso_ticket_sessions').where('ticket_id', '=', ticketId).execute();
}

/** Records the first opening of a ticket's page; true when this was it. */
export async function markOpened(db: Kysely<Database>, ticketId: string, now: Date): Promise<boolean> {
  const first = await db
    .updateTable('sso_tickets')
    .set({ opened_at: now })
    .where('id', '=', ticketId)
    .where('opened_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return first !== undefined;
}

/** Stores a setup-page session: only the hash of its secret. */
export async function insertTicketSession(
  db: Kysely<Database>,
  session: { secretHash: string; ticketId: string; now: Date; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto('sso_ticket_sessions')
    .values({ secret_hash: session.secretHash, ticket_id: session.ticketId, created_at: session.now, expires_at: session.expiresAt })
    .execute();
  // Sessions end after a few hours; drop the ended ones of this ticket while here instead of running a sweeper.
  await db.deleteFrom('sso_ticket_sessions').where('ticket_id', '=', session.ticketId).where('expires_at', '<=', session.now).execute();
}

/** True when a live session of `ticketId` has this secret hash. */
export async function ticketSessionExists(db: Kysely<Database>, secretHash: string, ticketId: string, now: Date): Promise<boolean> {
  const row = await db
    .selectFrom('sso_ticket_sessions')
    .select('secret_hash')
    .where('secret_hash', '=', secretHash)
    .where('ticket_id', '=', ticketId)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return row !== undefined;
}

// node-postgres turns JS arrays into PostgreSQL arrays, so jsonb values always go over as JSON text.
function serialise<
  T extends {
    domains?: unknown;
    provisioning?: unknown;
    enabled_features?: unknown;
    renewal_candidate?: unknown;
    entered_domains?: unknown;
  },
>(row: T): T {
  const out = { ...row };
  for (const key of ['domains', 'provisioning', 'enabled_features', 'renewal_candidate', 'entered_domains'] as const) {
    if (out[key] !== undefined && out[key] !== null && typeof out[key] !== 'string')
      (out as Record<string, unknown>)[key] = JSON.stringify(out[key]);
  }
  return out;
}

/**
 * Up to `limit` draft connections that a setup ticket created and that nothing will finish: every
 * ticket that set it up expired or was revoked without completing, no open ticket edits it, and it
 * was never enabled nor used for a login.
 */
export async function findAbandonedDrafts(db: Kysely<Database>, now: Date, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('connections as c')
    .select('c.id')
    .where('c.state', '=', 'draft')
    .where('c.enabled', '=', false)
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('sso_tickets as t')
          .select('t.id')
          .whereRef('t.connection_id', '=', 'c.id')
          .where('t.owns_connection', '=', true)
          .where('t.completed_at', 'is', null)
          .where((e) => e.or([e('t.expires_at', '<=', now), e('t.revoked_at', 'is not', null)])),
      ),
    )
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('sso_tickets as open')
            .select('open.id')
            .whereRef('open.connection_id', '=', 'c.id')
            .where((e) =>
              e.or([e('open.completed_at', 'is not', null), e.and([e('open.revoked_at', 'is', null), e('open.expires_at', '>', now)])]),
            ),
        ),
      ),
    )
    .orderBy('c.id')
    .limit(limit)
    .execute();
  return rows.map((row) => row.id);
}
