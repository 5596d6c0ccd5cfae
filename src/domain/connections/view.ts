import type { Connection as ConnectionSchema, RefreshOutcome } from '../../http/schemas/connections.ts';
import type { ConnectionMetadataRefreshRow, ConnectionRow } from '../../storage/schema.ts';
import { certificateStanding } from './certificate-expiry.ts';
import { isOidcComplete, oidcWarnings, type OidcSettings } from './oidc-config.ts';
import { effectiveMapping, type Provider } from './presets.ts';
import { describeCertificates, isSamlComplete, samlWarnings, type SamlSettings } from './saml-config.ts';
import { oidcLogoutCallbackUri, oidcRedirectUri, spValues } from './sp.ts';

/** A connection as the management API shows it: no secret, certificates described, SP values derived. */
export type Connection = ConnectionSchema;

/** A SAML row's settings (written only through resolveSamlSettings); undefined for OIDC. */
export function samlSettingsOf(row: ConnectionRow): SamlSettings | undefined {
  if (row.type !== 'saml' || !isSamlSettings(row.settings)) return undefined;
  // Rows written before the option existed lack it: they read as its default.
  const stored: Partial<SamlSettings> = row.settings;
  return { ...row.settings, allowUnsignedLogout: stored.allowUnsignedLogout ?? false };
}

/** An OIDC row's settings (written only through resolveOidcSettings); undefined for SAML. */
export function oidcSettingsOf(row: ConnectionRow): OidcSettings | undefined {
  if (row.type !== 'oidc' || isSamlSettings(row.settings)) return undefined;
  // Settings stored before end_session_endpoint was kept have no such key: read as none.
  return { ...row.settings, endSessionEndpoint: row.settings.endSessionEndpoint ?? null };
}

/** SAML settings always carry their certificate list (empty for a draft); OIDC settings never do. */
function isSamlSettings(settings: SamlSettings | OidcSettings): settings is SamlSettings {
  return 'certificates' in settings;
}

/** True when the settings hold every value a login needs, so the connection may be enabled. */
export function isComplete(settings: SamlSettings | OidcSettings, hasSecret: boolean): boolean {
  return isSamlSettings(settings) ? isSamlComplete(settings) : isOidcComplete(settings, hasSecret);
}

/** The API's view of a stored connection and its metadata refresh; `now` judges certificate expiry. */
export function toConnection(
  row: ConnectionRow,
  publicUrl: string,
  now: Date,
  refresh: ConnectionMetadataRefreshRow | undefined,
): Connection {
  const saml = samlSettingsOf(row);
  const oidc = oidcSettingsOf(row);
  const hasSecret = row.sealed_secret !== null;
  const certificates = saml === undefined ? [] : describeCertificates(saml, now);
  const standing = certificateStanding(certificates, now);
  return {
    id: row.id,
    organizationId: row.organization_id,
    type: row.type,
    provider: row.provider as Provider,
    name: row.name,
    enabled: row.enabled,
    state: row.state,
    attributeMapping: effectiveMapping(row.provider as Provider, row.type, row.attribute_mapping),
    groupSync: row.group_sync,
    emailDomainPolicy: row.email_domain_policy,
    saml: saml === undefined ? null : { ...saml, certificates },
    oidc:
      oidc === undefined
        ? null
        : {
            ...oidc,
            redirectUri: oidcRedirectUri(publicUrl),
            postLogoutRedirectUri: oidcLogoutCallbackUri(publicUrl),
            clientSecretSet: hasSecret,
          },
    sp: saml === undefined ? null : spValues(publicUrl, row.id),
    warnings: saml !== undefined ? samlWarnings(saml, now) : oidc !== undefined ? oidcWarnings(oidc, hasSecret) : [],
    certificateStatus: standing?.status ?? null,
    certificateDaysLeft: standing?.daysLeft ?? null,
    lastRefresh: lastRefreshOf(saml, refresh),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** The latest background or manual refresh from the metadata URL; null before the first or without a URL. */
function lastRefreshOf(saml: SamlSettings | undefined, refresh: ConnectionMetadataRefreshRow | undefined): Connection['lastRefresh'] {
  if (saml?.metadataUrl == null || refresh?.last_at == null || refresh.last_outcome === null) return null;
  return {
    at: refresh.last_at.toISOString(),
    outcome: refresh.last_outcome as RefreshOutcome,
    message: refresh.last_message,
    nextAt: refresh.next_run_at.toISOString(),
  };
}
