import type { Sealer } from '../../crypto/seal.ts';
import type { ConnectionRow, EmailDomainPolicy } from '../../storage/schema.ts';
import { effectiveMapping, type AttributeMapping, type Provider } from './presets.ts';
import type { SamlOptions } from './saml-config.ts';
import { oidcRedirectUri, spValues } from './sp.ts';
import { oidcSettingsOf, samlSettingsOf } from './view.ts';

/**
 * A connection as the login code needs it: preset and overrides merged, SP values derived, the
 * OIDC client secret opened. `saml` / `oidc` are present only when the IdP values are complete
 * (always so for an enabled connection). Never send this to a client.
 */
export interface ConnectionForLogin {
  id: string;
  organizationId: string;
  type: 'saml' | 'oidc';
  provider: string;
  name: string;
  enabled: boolean;
  /** `active` once a login succeeded; with lastUsedAt, tells whether a login needs to write the row. */
  state: 'draft' | 'active';
  lastUsedAt: Date | null;
  updatedAt: Date;
  attributeMapping: AttributeMapping;
  groupSync: boolean;
  /** What a login whose email lies outside the organization's verified domains gets. */
  emailDomainPolicy: EmailDomainPolicy;
  saml?: SamlOptions & {
    idpEntityId: string;
    ssoUrl: string;
    /** The binding ssoUrl takes AuthnRequests with. */
    ssoBinding: 'redirect' | 'post';
    sloUrl: string | null;
    certificatesPem: string[];
    spEntityId: string;
    acsUrl: string;
  };
  oidc?: {
    issuer: string;
    clientId: string;
    clientSecret: string;
    scopes: string[];
    authorizationEndpoint: string;
    tokenEndpoint: string;
    jwksUri: string;
    userinfoEndpoint: string | null;
    endSessionEndpoint: string | null;
    redirectUri: string;
  };
}

/** The context a connection's sealed secret is bound to: a sealed value copied to another row does not open. */
export function connectionSecretContext(connectionId: string): string {
  return `connections:${connectionId}`;
}

/** Builds the login view of a row, opening its client secret. */
export function toConnectionForLogin(row: ConnectionRow, deps: { publicUrl: string; sealer: Sealer }): ConnectionForLogin {
  const base: ConnectionForLogin = {
    id: row.id,
    organizationId: row.organization_id,
    type: row.type,
    provider: row.provider,
    name: row.name,
    enabled: row.enabled,
    state: row.state,
    lastUsedAt: row.last_used_at,
    updatedAt: row.updated_at,
    attributeMapping: effectiveMapping(row.provider as Provider, row.type, row.attribute_mapping),
    groupSync: row.group_sync,
    emailDomainPolicy: row.email_domain_policy,
  };
  const saml = samlSettingsOf(row);
  // The IdP values are all there or none is (resolveSamlSettings); a draft has no saml to log in with.
  if (saml !== undefined && saml.idpEntityId !== null && saml.ssoUrl !== null && saml.certificates.length > 0) {
    const sp = spValues(deps.publicUrl, row.id);
    const { certificates, metadataUrl: _metadataUrl, idpEntityId, ssoUrl, ssoBinding, ...options } = saml;
    base.saml = {
      ...options,
      idpEntityId,
      ssoUrl,
      ssoBinding: ssoBinding ?? 'redirect',
      certificatesPem: certificates,
      spEntityId: sp.entityId,
      acsUrl: sp.acsUrl,
    };
  }
  const oidc = oidcSettingsOf(row);
  const { issuer, clientId, authorizationEndpoint, tokenEndpoint, jwksUri } = oidc ?? {};
  // Discovery stores the three endpoints together (discoverOidcProvider), so a complete one has them all.
  if (
    oidc !== undefined &&
    row.sealed_secret !== null &&
    issuer != null &&
    clientId != null &&
    authorizationEndpoint != null &&
    tokenEndpoint != null &&
    jwksUri != null
  ) {
    base.oidc = {
      issuer,
      clientId,
      clientSecret: deps.sealer.open(row.sealed_secret, connectionSecretContext(row.id)),
      scopes: oidc.scopes,
      authorizationEndpoint,
      tokenEndpoint,
      jwksUri,
      userinfoEndpoint: oidc.userinfoEndpoint,
      endSessionEndpoint: oidc.endSessionEndpoint,
      redirectUri: oidcRedirectUri(deps.publicUrl),
    };
  }
  return base;
}
