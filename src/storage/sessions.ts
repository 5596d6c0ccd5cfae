import type { Insertable, Kysely } from 'kysely';
import type { BackchannelLogoutRow, Database, LogoutFlowRow, LogoutFlowsTable, SessionRow } from './schema.ts';

// The only module that holds the SQL of sessions, logout flows and the LogoutRequest replay cache.

/** An ended session keeps no upstream id_token: it was kept only as the hint of the logout that ends it. */
const FORGET_UPSTREAM = { sealed_upstream_id_token: null } as const;

/** A session by its `sid`, ended or not. */
export async function findSession(db: Kysely<Database>, id: string): Promise<SessionRow | undefined> {
  return db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Ends the open, unexpired sessions of `connectionId` whose NameID (value and qualifiers) is the
 * given one and, when `sessionIndexes` is not empty, whose SessionIndex is one of them (SAML core
 * §3.7.3.2); sessions of another connection are never touched. Returns the sessions it ended.
 */
export async function endSamlSessions(
  db: Kysely<Database>,
  match: {
    connectionId: string;
    nameId: string;
    format: string | null;
    nameQualifier: string | null;
    spNameQualifier: string | null;
    sessionIndexes: readonly string[];
  },
  now: Date,
): Promise<SessionRow[]> {
  let query = db
    .updateTable('sessions')
    .set({ ended_at: now, ended_by: 'idp', ...FORGET_UPSTREAM })
    .where('connection_id', '=', match.connectionId)
    .where('name_id', '=', match.nameId)
    .where((eb) => (match.format === null ? eb('name_id_format', 'is', null) : eb('name_id_format', '=', match.format)))
    .where((eb) => (match.nameQualifier === null ? eb('name_qualifier', 'is', null) : eb('name_qualifier', '=', match.nameQualifier)))
    .where((eb) =>
      match.spNameQualifier === null ? eb('sp_name_qualifier', 'is', null) : eb('sp_name_qualifier', '=', match.spNameQualifier),
    )
    .where('ended_at', 'is', null)
    .where('expires_at', '>', now);
  if (match.sessionIndexes.length > 0) query = query.where('session_index', 'in', [...match.sessionIndexes]);
  return query.returningAll().execute();
}

/** Ends one open session (RP-initiated logout); undefined when it was already ended or has expired. */
export async function endSession(db: Kysely<Database>, id: string, now: Date): Promise<SessionRow | undefined> {
  return db
    .updateTable('sessions')
    .set({ ended_at: now, ended_by: 'app', ...FORGET_UPSTREAM })
    .where('id', '=', id)
    .where('ended_at', 'is', null)
    .where('expires_at', '>', now)
    .returningAll()
    .executeTakeFirst();
}

/** Remembers a LogoutRequest ID as seen; false when it was seen before (a replay), on any instance. */
export async function rememberLogoutRequest(
  db: Kysely<Database>,
  seen: { connectionId: string; requestId: string; expiresAt: Date },
): Promise<boolean> {
  const inserted = await db
    .insertInto('saml_logout_requests_seen')
    .values({ connection_id: seen.connectionId, request_id: seen.requestId, expires_at: seen.expiresAt })
    .onConflict((c) => c.columns(['connection_id', 'request_id']).doNothing())
    .returning('request_id')
    .executeTakeFirst();
  return inserted !== undefined;
}

/** Forgets expired LogoutRequest IDs (the verifier refuses them anyway) and expired logout flows. */
export async function purgeExpiredLogoutState(db: Kysely<Database>, now: Date): Promise<void> {
  await db.deleteFrom('saml_logout_requests_seen').where('expires_at', '<', now).execute();
  await db.deleteFrom('logout_flows').where('expires_at', '<', now).execute();
}

export async function insertLogoutFlow(db: Kysely<Database>, row: Insertable<LogoutFlowsTable>): Promise<void> {
  await db.insertInto('logout_flows').values(row).execute();
}

/** A pending logout flow of the connection, read before the LogoutResponse is verified. */
export async function findPendingLogoutFlow(
  db: Kysely<Database>,
  key: { id: string; connectionId: string },
  now: Date,
): Promise<LogoutFlowRow | undefined> {
  return db
    .selectFrom('logout_flows')
    .selectAll()
    .where('id', '=', key.id)
    .where('connection_id', '=', key.connectionId)
    .where('returned_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
}

/** A logout flow by the request it is bound to (a LogoutRequest ID, or the hash of an OIDC logout's state), whatever its state. */
export async function findLogoutFlowByRequest(db: Kysely<Database>, requestId: string): Promise<LogoutFlowRow | undefined> {
  return db.selectFrom('logout_flows').selectAll().where('request_id', '=', requestId).executeTakeFirst();
}

/** Takes a pending logout flow once (a replayed LogoutResponse takes nothing). */
export async function takeLogoutFlow(db: Kysely<Database>, id: string, now: Date): Promise<boolean> {
  const taken = await db
    .updateTable('logout_flows')
    .set({ returned_at: now })
    .where('id', '=', id)
    .where('returned_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('id')
    .executeTakeFirst();
  return taken !== undefined;
}

/**
 * Owes a Back-Channel Logout to the application of each of `sessionIds` that takes them (has a
 * backchannel_logout_uri), in the transaction that ended the sessions; returns the sessions owed one.
 */
export async function oweBackchannelLogouts(db: Kysely<Database>, sessionIds: readonly string[], now: Date): Promise<string[]> {
  if (sessionIds.length === 0) return [];
  const owed = await db
    .insertInto('backchannel_logouts')
    .columns(['session_id', 'status', 'attempt_count', 'next_attempt_at', 'created_at'])
    .expression(
      db
        .selectFrom('sessions')
        .innerJoin('applications', 'applications.id', 'sessions.application_id')
        .select((eb) => [
          'sessions.id',
          eb.val('pending').as('status'),
          eb.val(0).as('attempt_count'),
          eb.val(now).as('next_attempt_at'),
          eb.val(now).as('created_at'),
        ])
        .where('sessions.id', 'in', [...sessionIds])
        .where('applications.backchannel_logout_uri', 'is not', null),
    )
    .returning('session_id')
    .execute();
  return owed.map((row) => row.session_id);
}

/**
 * Claims pending back-channel logouts that are due (`ids`: only those, for the attempt made at
 * once), moving each to the end of its lease so that no other instance sends it meanwhile; a
 * sender that dies leaves it due again when the lease ends.
 */
export async function claimBackchannelLogouts(
  db: Kysely<Database>,
  claim: { now: Date; leaseUntil: Date; limit: number; ids?: readonly string[] },
): Promise<BackchannelLogoutRow[]> {
  return db.transaction().execute(async (trx) => {
    let due = trx
      .selectFrom('backchannel_logouts')
      .select('session_id')
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', claim.now)
      .orderBy('next_attempt_at')
      .limit(claim.limit)
      .forUpdate()
      .skipLocked();
    if (claim.ids !== undefined) {
      if (claim.ids.length === 0) return [];
      due = due.where('session_id', 'in', [...claim.ids]);
    }
    const ids = (await due.execute()).map((row) => row.session_id);
    if (ids.length === 0) return [];
    return trx
      .updateTable('backchannel_logouts')
      .set({ next_attempt_at: claim.leaseUntil })
      .where('session_id', 'in', ids)
      .returningAll()
      .execute();
  });
}

/** Records an attempt's outcome on a claimed back-channel logout. */
export async function recordBackchannelAttempt(
  db: Kysely<Database>,
  sessionId: string,
  outcome: Pick<BackchannelLogoutRow, 'status' | 'attempt_count' | 'next_attempt_at' | 'last_error' | 'delivered_at'>,
): Promise<void> {
  await db.updateTable('backchannel_logouts').set(outcome).where('session_id', '=', sessionId).execute();
}

/** Ends up to `limit` open sessions past their expiry (claimed with SKIP LOCKED, so instances share the work). */
export async function endExpiredSessions(db: Kysely<Database>, now: Date, limit: number): Promise<SessionRow[]> {
  const due = db
    .selectFrom('sessions')
    .select('id')
    .where('ended_at', 'is', null)
    .where('expires_at', '<=', now)
    .orderBy('expires_at')
    .limit(limit)
    .forUpdate()
    .skipLocked();
  return db
    .updateTable('sessions')
    .set({ ended_at: now, ended_by: 'expiry', ...FORGET_UPSTREAM })
    .where('id', 'in', due)
    .returningAll()
    .execute();
}
