import type { Kysely } from 'kysely';
import { findTestFlow } from '../../storage/login-flows.ts';
import type { Database, LoginFlowRow, SsoTicketRow, TestSignInResult } from '../../storage/schema.ts';
import { fieldError } from '../connections/input-checks.ts';
import { recordEvent } from '../events/events.ts';
import type { ConnectionDirectory, UpstreamHop } from '../login/ports.ts';
import { startFlow, type StartFlowDeps } from '../login/start.ts';
import { testResultOf } from './test-results.ts';

/** What starting a test sign-in uses. */
export interface TestSignInDeps extends StartFlowDeps {
  readonly publicUrl: string;
  readonly connections: Pick<ConnectionDirectory, 'getForLogin'>;
}

/** Where a test sign-in lands after the IdP: its result page (no token in it; the session cookie leads back). */
function testResultUrl(publicUrl: string, flowId: string): string {
  return `${publicUrl}/setup/tests/${flowId}`;
}

/**
 * Starts a real login through the ticket's connection, enabled or not: a single-use login flow
 * bound to the ticket instead of an application, started as an app's login is (startFlow);
 * `trustedCertificates` (a certificate renewal) replaces the connection's certificates for it. The
 * ACS or OIDC callback hands the outcome to the ticket through the login's TestSignInResults port.
 */
export async function startTestSignIn(
  deps: TestSignInDeps,
  ticket: SsoTicketRow,
  requestId: string | null,
  options: { trustedCertificates?: readonly string[] } = {},
): Promise<UpstreamHop> {
  const connection = ticket.connection_id === null ? undefined : await deps.connections.getForLogin(ticket.connection_id);
  if (connection === undefined) throw fieldError('test', "needs your identity provider's details first (step 3)");
  const started = await startFlow(deps, connection, {
    setupTicketId: ticket.id,
    resultUrl: (flowId) => testResultUrl(deps.publicUrl, flowId),
    ...(options.trustedCertificates ? { trustedCertificates: options.trustedCertificates } : {}),
  });
  if (!started.ok) {
    if (started.error === 'not_configured') throw fieldError('test', "needs your identity provider's details first (step 3)");
    throw fieldError('test', `is not available: this Lanyard cannot sign in through ${connection.type.toUpperCase()} yet`);
  }
  const actor = { id: ticket.id, organizationId: ticket.organization_id, requestId };
  await recordEvent(deps.db, { now: deps.clock(), random: deps.random }, actor, {
    type: 'sso_ticket.test_started',
    organizationId: ticket.organization_id,
    summary: { ticketId: ticket.id, connectionId: connection.id, flowId: started.value.flowId },
  });
  return started.value.hop;
}

/** A test flow of this ticket and its result (undefined while the browser is still at the IdP). */
export interface TestSignIn {
  flow: LoginFlowRow;
  result: TestSignInResult | undefined;
}

/** The ticket's own test flow `flowId`; another ticket's (or an app's) flow is not found. */
export async function findTestSignIn(db: Kysely<Database>, ticket: SsoTicketRow, flowId: string): Promise<TestSignIn | undefined> {
  const flow = await findTestFlow(db, ticket.id, flowId);
  return flow === undefined ? undefined : { flow, result: testResultOf(flow) };
}
