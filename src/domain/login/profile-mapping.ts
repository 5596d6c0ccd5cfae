import type { AttributeMapping } from '../connections/presets.ts';
import type { Profile } from '../profile.ts';

/** What an IdP said about the user, before mapping: a subject and named values (SAML attributes or OIDC claims). */
export interface UpstreamIdentity {
  readonly subject: string;
  readonly values: Readonly<Record<string, unknown>>;
  /** SAML: the NameID when its format says it is an email address. */
  readonly subjectEmail?: string | null;
  readonly emailVerified?: boolean | null;
}

/**
 * Maps an upstream identity to the normalized profile through the connection's attribute mapping
 * (preset merged with overrides). Groups are read only when the connection syncs them.
 */
export function mapProfile(
  identity: UpstreamIdentity,
  connection: { id: string; organizationId: string; type: 'saml' | 'oidc'; attributeMapping: AttributeMapping; groupSync: boolean },
): Profile {
  const mapping = connection.attributeMapping;
  const idFromMapping = mapping.id ? first(identity.values[mapping.id]) : null;
  return {
    idpId: idFromMapping ?? identity.subject,
    email: first(identity.values[mapping.email])?.toLowerCase() ?? identity.subjectEmail?.toLowerCase() ?? null,
    emailVerified: identity.emailVerified ?? null,
    firstName: first(identity.values[mapping.firstName]),
    lastName: first(identity.values[mapping.lastName]),
    groups: connection.groupSync ? all(identity.values[mapping.groups]) : [],
    rawAttributes: { ...identity.values },
    organizationId: connection.organizationId,
    connectionId: connection.id,
    connectionType: connection.type,
  };
}

function all(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list
    .filter((v): v is string | number => typeof v === 'string' || typeof v === 'number')
    .map(String)
    .filter((v) => v !== '');
}

function first(value: unknown): string | null {
  return all(value)[0] ?? null;
}
