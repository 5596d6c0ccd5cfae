import { sql, type Insertable, type Kysely } from 'kysely';
import { prepared } from './prepared-statements.ts';
import type { UsedAssertion } from './saml-assertions.ts';
import type { AuthorizationCodesTable, Database, EventsTable, SessionsTable } from './schema.ts';

/** What a successful login writes, and the single-use checks it is conditional on. */
export interface LoginGrant {
  readonly now: Date;
  /** The SP-initiated flow the response ends, as it was read (none for an IdP-initiated login). */
  readonly flow?: { id: string; returnedAt: Date | null; upstreamRequestId: string | null };
  /** The SAML assertion to remember as used (none for OIDC). */
  readonly assertion?: UsedAssertion;
  readonly session: Insertable<SessionsTable>;
  readonly code: Insertable<AuthorizationCodesTable>;
  readonly event: Insertable<EventsTable>;
}

/**
 * `granted`; `replayed` when the assertion was used before (nothing written, the flow left as it
 * was for the refusal to end); `flow_taken` when another response ended the flow first (then this
 * assertion stays remembered: it cannot sign anyone in later either).
 */
export type GrantOutcome = 'granted' | 'replayed' | 'flow_taken';

/**
 * Ends a successful login in one statement, one round trip and no transaction to hold open: data-
 * modifying CTEs remember the assertion (ON CONFLICT DO NOTHING), then take the flow only if that
 * inserted (the conditional UPDATE of endLoginFlow), then insert the session, the code and the
 * `login.succeeded` event only if both did. Racing responses serialize on the assertion's key and
 * the flow's row lock, exactly as the transaction did. Rows go over as JSON and are typed by their
 * table (json_populate_record), so no parameter relies on type inference; a column a row leaves
 * out is null there, not its default.
 */
export async function grantLogin(db: Kysely<Database>, grant: LoginGrant): Promise<GrantOutcome> {
  const { assertion, flow } = grant;
  const seen =
    assertion === undefined
      ? sql`select 1`
      : sql`insert into saml_assertions_seen (connection_id, assertion_id, expires_at)
            values (${assertion.connectionId}, ${assertion.assertionId}, ${assertion.expiresAt.toISOString()}::timestamptz)
            on conflict (connection_id, assertion_id) do nothing returning 1`;
  const taken =
    flow === undefined
      ? sql`select 1 from seen`
      : sql`update login_flows
            set returned_at = ${(flow.returnedAt ?? grant.now).toISOString()}::timestamptz, completed_at = ${grant.now.toISOString()}::timestamptz,
                failure_code = null, failure_message = null, failure_facts = null
            where id = ${flow.id}
              and returned_at is not distinct from ${flow.returnedAt?.toISOString() ?? null}::timestamptz
              and upstream_request_id is not distinct from ${flow.upstreamRequestId}::text
              and exists (select from seen)
            returning 1`;
  const row = (table: string, value: object) =>
    sql`insert into ${sql.table(table)} select * from json_populate_record(null::${sql.table(table)}, ${JSON.stringify(value)}::json)
        where exists (select from taken)`;
  const statement = sql<{ seen: number; taken: number }>`
    with seen as (${seen}),
         taken as (${taken}),
         session as (${row('sessions', grant.session)}),
         code as (${row('authorization_codes', grant.code)}),
         event as (${row('events', grant.event)})
    select (select count(*) from seen)::int as seen, (select count(*) from taken)::int as taken`;
  const result = await db.executeQuery(prepared({ compile: () => statement.compile(db) }));
  const counts = result.rows[0];
  if (counts?.seen !== 1) return 'replayed';
  return counts.taken === 1 ? 'granted' : 'flow_taken';
}
