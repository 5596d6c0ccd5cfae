import type { LoginFlowRow } from '../../storage/schema.ts';

/** What the login needs to know of a connection (the connections service provides more). */
export interface LoginConnection {
  readonly id: string;
  readonly organizationId: string;
  readonly type: 'saml' | 'oidc';
  readonly name: string;
  readonly provider: string;
  readonly enabled: boolean;
}

/** Finds the connections a login may use; implemented by the connections service. */
export interface ConnectionDirectory<C extends LoginConnection = LoginConnection> {
  getForLogin(connectionId: string): Promise<C | undefined>;
  resolveForLogin(query: { connectionId?: string; organizationId?: string; domain?: string }): Promise<C[]>;
  markUsed(connectionId: string, now: Date): Promise<void>;
}

/** How the browser goes on to the IdP: a redirect, or a form it posts (SAML HTTP-POST binding). */
export type UpstreamHop = { url: string } | { post: { action: string; fields: Record<string, string> } };

/** Sends the user on to the customer's IdP for one login flow (SAML AuthnRequest, OIDC authorization request). */
export interface UpstreamLogin<C extends LoginConnection = LoginConnection> {
  start(flow: LoginFlowRow, connection: C): Promise<UpstreamHop & { upstreamRequestId: string; sealedUpstreamState?: string | null }>;
}
