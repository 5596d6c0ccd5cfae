import type { Transaction } from 'kysely';
import type { Database, LoginFlowRow } from '../../storage/schema.ts';
import type { ConnectionForLogin } from '../connections/for-login.ts';
import type { Profile } from '../profile.ts';
import type { Result } from '../result.ts';
import type { Fact, LoginFailureCode } from './failures.ts';

/** Finds the connections a login may use; implemented by the connections service. */
export interface ConnectionDirectory {
  getForLogin(connectionId: string): Promise<ConnectionForLogin | undefined>;
  resolveForLogin(query: { connectionId?: string; organizationId?: string; domain?: string }): Promise<ConnectionForLogin[]>;
}

/** How the browser goes on to the IdP: a redirect, or a form it posts (SAML HTTP-POST binding). */
export type UpstreamHop = { url: string } | { post: { action: string; fields: Record<string, string> } };

/** What starting upstream produced: the hop, the id of what was sent (AuthnRequest ID, OIDC state), sealed secrets. */
type UpstreamStart = UpstreamHop & { upstreamRequestId: string; sealedUpstreamState?: string | null };

/** Sends the user on to the customer's IdP for one login flow (SAML AuthnRequest, OIDC authorization request). */
export interface UpstreamLogin {
  /** `not_configured` when the connection lacks this protocol's IdP values (a draft). */
  start(
    flow: LoginFlowRow,
    connection: ConnectionForLogin,
    hints: { readonly loginHint?: string | undefined },
  ): Promise<Result<UpstreamStart, 'not_configured'>>;
}

/** The upstream side of each protocol; undefined for a protocol this Lanyard cannot sign in through. */
export type Upstreams = Readonly<Record<ConnectionForLogin['type'], UpstreamLogin | undefined>>;

/** How a test sign-in from a setup page ended, as the login hands it over. */
type TestSignInOutcome =
  | { readonly ok: true; readonly profile: Profile }
  | { readonly ok: false; readonly code: LoginFailureCode; readonly message: string; readonly facts: readonly Fact[] };

/**
 * The port through which a test sign-in's outcome reaches its setup ticket (implemented by
 * domain/tickets), so that the login knows nothing of tickets. Called with the transaction that
 * ends the flow; returns where the browser goes (the test's result page).
 */
export interface TestSignInResults {
  record(trx: Transaction<Database>, flow: LoginFlowRow, outcome: TestSignInOutcome, requestId: string | null): Promise<string>;
}

/**
 * Where the login counts what it does, for /metrics (implemented over prom-client by
 * src/http/metrics.ts, so that the login knows nothing of it). `code` is a catalogued failure code.
 */
export interface LoginMetrics {
  started(connectionType: ConnectionForLogin['type']): void;
  succeeded(connectionType: ConnectionForLogin['type']): void;
  failed(connectionType: ConnectionForLogin['type'], code: string): void;
}
