import type { Insertable, Kysely } from 'kysely';
import { prepared, preparedStatement } from './prepared-statements.ts';
import type { Database, LoginFlowRow, LoginFlowsTable, TestSignInResult } from './schema.ts';

// The only module that writes login_flows: a login flow is an expiring, single-use row whose
// every change is one of the conditional updates below (ARCHITECTURE.md habit 13).

/** Writes a new pending flow, with what was sent upstream, in one INSERT. */
export async function insertLoginFlow(db: Kysely<Database>, row: Insertable<LoginFlowsTable>): Promise<void> {
  // node-postgres would send a JS array as a PostgreSQL array, not as jsonb.
  const trusted = row.trusted_certificates;
  await db.executeQuery(
    prepared(
      db
        .insertInto('login_flows')
        .values({ ...row, trusted_certificates: Array.isArray(trusted) ? JSON.stringify(trusted) : (trusted ?? null) }),
    ),
  );
}

/** One flow by id, whatever its state or kind. */
export async function findLoginFlowById(db: Kysely<Database>, id: string): Promise<LoginFlowRow | undefined> {
  return db.selectFrom('login_flows').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A test sign-in flow of `ticketId`; another ticket's (or an app's) flow is not found. */
export async function findTestFlow(db: Kysely<Database>, ticketId: string, flowId: string): Promise<LoginFlowRow | undefined> {
  return db.selectFrom('login_flows').selectAll().where('id', '=', flowId).where('setup_ticket_id', '=', ticketId).executeTakeFirst();
}

/** Keeps a test sign-in's outcome on its flow for the result page; in the transaction that ends the flow. */
export async function recordTestResult(db: Kysely<Database>, flowId: string, result: TestSignInResult, now: Date): Promise<void> {
  await db
    .updateTable('login_flows')
    .set({ test_result: JSON.stringify(result), completed_at: now })
    .where('id', '=', flowId)
    .execute();
}

/** How a response names its login flow: by its id (SAML RelayState), or by what was sent upstream (OIDC state). */
export type LoginFlowKey = { id: string; connectionId: string } | { upstreamRequestId: string; connectionType: 'saml' | 'oidc' };

/**
 * The login flow a response names, in whatever state. By id only a flow of that connection
 * matches; by upstream request only flows of `connectionType` connections, so a SAML
 * AuthnRequest ID presented as an OIDC state finds nothing.
 */
export async function findLoginFlow(db: Kysely<Database>, key: LoginFlowKey): Promise<LoginFlowRow | undefined> {
  const query =
    'id' in key
      ? FLOW_BY_ID(db, key)
      : prepared(
          db
            .selectFrom('login_flows')
            .selectAll()
            .where('upstream_request_id', '=', key.upstreamRequestId)
            .where('connection_id', 'in', db.selectFrom('connections').select('id').where('type', '=', key.connectionType)),
        );
  return (await db.executeQuery(query)).rows[0];
}

const FLOW_BY_ID = preparedStatement((db, key: { id: string; connectionId: string }) =>
  db.selectFrom('login_flows').selectAll().where('id', '=', key.id).where('connection_id', '=', key.connectionId),
);

/**
 * Takes a pending flow the response names, once, in one conditional UPDATE … RETURNING: a second
 * response for the same flow, a flow of another connection, or an expired flow takes nothing.
 * For a response whose checking has side effects (an OIDC code redeemed at the IdP), before them.
 */
export async function takeLoginFlow(db: Kysely<Database>, key: LoginFlowKey, now: Date): Promise<LoginFlowRow | undefined> {
  let query = db.updateTable('login_flows').set({ returned_at: now }).where('returned_at', 'is', null).where('expires_at', '>', now);
  query =
    'id' in key
      ? query.where('id', '=', key.id).where('connection_id', '=', key.connectionId)
      : query
          .where('upstream_request_id', '=', key.upstreamRequestId)
          .where('connection_id', 'in', db.selectFrom('connections').select('id').where('type', '=', key.connectionType));
  return query.returningAll().executeTakeFirst();
}

/**
 * Records how a login flow ended: completed, or failed with `failure`. A flow that was still
 * pending when read is taken here, in the same conditional UPDATE: of two responses racing for
 * one flow, exactly one ends it (the other waits for the row lock, then finds the flow changed)
 * and gets true. An expired flow that fails is not marked returned, so a later response for it is
 * again told that it expired.
 */
export async function endLoginFlow(
  db: Kysely<Database>,
  flow: LoginFlowRow,
  now: Date,
  failure?: { code: string; message: string; facts?: readonly (readonly [string, string])[] | undefined },
): Promise<boolean> {
  const returnedAt = flow.returned_at ?? (failure !== undefined && flow.expires_at <= now ? null : now);
  const ended = await db
    .updateTable('login_flows')
    .set({
      returned_at: returnedAt,
      completed_at: now,
      failure_code: failure?.code ?? null,
      failure_message: failure?.message ?? null,
      failure_facts: failure?.facts === undefined ? null : JSON.stringify(failure.facts),
    })
    .where('id', '=', flow.id)
    // Still as the response saw it: taken by nobody else, and for the request it was checked against.
    .where('returned_at', 'is not distinct from', flow.returned_at)
    .where('upstream_request_id', 'is not distinct from', flow.upstream_request_id)
    .returning('id')
    .executeTakeFirst();
  return ended !== undefined;
}
