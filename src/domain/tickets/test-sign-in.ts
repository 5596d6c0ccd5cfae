import type { Kysely } from 'kysely';
import { newId, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import type { Database, LoginFlowRow, SsoTicketRow } from '../../storage/schema.ts';
import type { ConnectionForLogin } from '../connections/for-login.ts';
import { fieldError } from '../connections/input-checks.ts';
import { recordEvent } from '../events/events.ts';
import { LOGIN_FLOW_TTL_MS } from '../oauth/authorize.ts';
import type { UpstreamHop, UpstreamLogin } from '../oauth/ports.ts';
import { testResultOf, type SetupTestResult } from './test-results.ts';

/** What starting a test sign-in uses. */
export interface TestSignInDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly publicUrl: string;
  readonly connections: { getForLogin(id: string): Promise<ConnectionForLogin | undefined> };
  readonly upstream: Readonly<Record<'saml' | 'oidc', UpstreamLogin | undefined>>;
}

/** Where a test sign-in lands after the IdP: its result page (no token in it; the session cookie leads back). */
export function testResultUrl(publicUrl: string, flowId: string): string {
  return `${publicUrl}/setup/tests/${flowId}`;
}

/**
 * Starts a real login through the ticket's connection, enabled or not: a single-use login flow
 * bound to the ticket instead of an application, then the same AuthnRequest or authorization
 * request an app's login sends. The ACS or OIDC callback hands the outcome to the ticket.
 */
export async function startTestSignIn(deps: TestSignInDeps, ticket: SsoTicketRow, requestId: string | null): Promise<UpstreamHop> {
  const connection = ticket.connection_id === null ? undefined : await deps.connections.getForLogin(ticket.connection_id);
  if (connection === undefined || (connection.saml === undefined && connection.oidc === undefined)) {
    throw fieldError('test', "needs your identity provider's details first (step 3)");
  }
  const upstream = deps.upstream[connection.type];
  if (upstream === undefined)
    throw fieldError('test', `is not available: this Lanyard cannot sign in through ${connection.type.toUpperCase()} yet`);
  const now = deps.clock();
  const id = newId('lgn', now, deps.random);
  const flow = await deps.db
    .insertInto('login_flows')
    .values({
      id,
      application_id: null,
      setup_ticket_id: ticket.id,
      organization_id: connection.organizationId,
      connection_id: connection.id,
      redirect_uri: testResultUrl(deps.publicUrl, id),
      scope: 'openid profile email',
      created_at: now,
      expires_at: new Date(now.getTime() + LOGIN_FLOW_TTL_MS),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const started = await upstream.start(flow, connection);
  await deps.db
    .updateTable('login_flows')
    .set({ upstream_request_id: started.upstreamRequestId, sealed_upstream_state: started.sealedUpstreamState ?? null })
    .where('id', '=', flow.id)
    .execute();
  const actor = { id: ticket.id, organizationId: ticket.organization_id, requestId };
  await recordEvent(deps.db, { now, random: deps.random }, actor, {
    type: 'sso_ticket.test_started',
    organizationId: ticket.organization_id,
    summary: { ticketId: ticket.id, connectionId: connection.id, flowId: id },
  });
  return 'url' in started ? { url: started.url } : { post: started.post };
}

/** A test flow of this ticket and its result (undefined while the browser is still at the IdP). */
export interface TestSignIn {
  flow: LoginFlowRow;
  result: SetupTestResult | undefined;
}

/** The ticket's own test flow `flowId`; another ticket's (or an app's) flow is not found. */
export async function findTestSignIn(db: Kysely<Database>, ticket: SsoTicketRow, flowId: string): Promise<TestSignIn | undefined> {
  const flow = await db
    .selectFrom('login_flows')
    .selectAll()
    .where('id', '=', flowId)
    .where('setup_ticket_id', '=', ticket.id)
    .executeTakeFirst();
  return flow === undefined ? undefined : { flow, result: testResultOf(flow) };
}
