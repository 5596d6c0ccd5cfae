import { sql, type Insertable, type Kysely } from 'kysely';
import { preparedStatement } from './prepared-statements.ts';
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
  const values: GrantValues = {
    assertionConnectionId: assertion?.connectionId ?? null,
    assertionId: assertion?.assertionId ?? null,
    assertionExpiresAt: assertion?.expiresAt.toISOString() ?? null,
    flowId: flow?.id ?? null,
    flowReturnedAt: flow?.returnedAt?.toISOString() ?? null,
    flowUpstreamRequestId: flow?.upstreamRequestId ?? null,
    returnedAt: (flow?.returnedAt ?? grant.now).toISOString(),
    now: grant.now.toISOString(),
    session: JSON.stringify(grant.session),
    code: JSON.stringify(grant.code),
    event: JSON.stringify(grant.event),
  };
  const statement = GRANT_STATEMENTS[assertion === undefined ? 0 : 1][flow === undefined ? 0 : 1];
  const counts = (await db.executeQuery(statement(db, values))).rows[0];
  if (counts?.seen !== 1) return 'replayed';
  return counts.taken === 1 ? 'granted' : 'flow_taken';
}

/** A grant's values as the statement's parameters: instants as ISO text, rows as JSON. */
interface GrantValues extends Record<string, string | null> {
  readonly assertionConnectionId: string | null;
  readonly assertionId: string | null;
  readonly assertionExpiresAt: string | null;
  readonly flowId: string | null;
  readonly flowReturnedAt: string | null;
  readonly flowUpstreamRequestId: string | null;
  readonly returnedAt: string;
  readonly now: string;
  readonly session: string;
  readonly code: string;
  readonly event: string;
}

/** The grant's statement, built once for each of: with or without an assertion, with or without a flow. */
function grantStatement(withAssertion: boolean, withFlow: boolean) {
  return preparedStatement((db, v: GrantValues) => {
    const seen = withAssertion
      ? sql`insert into saml_assertions_seen (connection_id, assertion_id, expires_at)
            values (${v.assertionConnectionId}, ${v.assertionId}, ${v.assertionExpiresAt}::timestamptz)
            on conflict (connection_id, assertion_id) do nothing returning 1`
      : sql`select 1`;
    const taken = withFlow
      ? sql`update login_flows
            set returned_at = ${v.returnedAt}::timestamptz, completed_at = ${v.now}::timestamptz,
                failure_code = null, failure_message = null, failure_facts = null
            where id = ${v.flowId}
              and returned_at is not distinct from ${v.flowReturnedAt}::timestamptz
              and upstream_request_id is not distinct from ${v.flowUpstreamRequestId}::text
              and exists (select from seen)
            returning 1`
      : sql`select 1 from seen`;
    const row = (table: string, value: string) =>
      sql`insert into ${sql.table(table)} select * from json_populate_record(null::${sql.table(table)}, ${value}::json)
          where exists (select from taken)`;
    const statement = sql<{ seen: number; taken: number }>`
      with seen as (${seen}),
           taken as (${taken}),
           session as (${row('sessions', v.session)}),
           code as (${row('authorization_codes', v.code)}),
           event as (${row('events', v.event)})
      select (select count(*) from seen)::int as seen, (select count(*) from taken)::int as taken`;
    return { compile: () => statement.compile(db) };
  });
}

const GRANT_STATEMENTS = [
  [grantStatement(false, false), grantStatement(false, true)],
  [grantStatement(true, false), grantStatement(true, true)],
] as const;
