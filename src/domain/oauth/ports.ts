import type { LoginFlowRow } from '../../storage/schema.ts';
import type { ConnectionForLogin } from '../connections/for-login.ts';

/** Finds the connections a login may use; implemented by the connections service. */
export interface ConnectionDirectory {
  getForLogin(connectionId: string): Promise<ConnectionForLogin | undefined>;
  resolveForLogin(query: { connectionId?: string; organizationId?: string; domain?: string }): Promise<ConnectionForLogin[]>;
}

/** How the browser goes on to the IdP: a redirect, or a form it posts (SAML HTTP-POST binding). */
export type UpstreamHop = { url: string } | { post: { action: string; fields: Record<string, string> } };

/** Sends the user on to the customer's IdP for one login flow (SAML AuthnRequest, OIDC authorization request). */
export interface UpstreamLogin {
  start(
    flow: LoginFlowRow,
    connection: ConnectionForLogin,
  ): Promise<UpstreamHop & { upstreamRequestId: string; sealedUpstreamState?: string | null }>;
}
