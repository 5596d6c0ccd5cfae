import { AppError } from '../errors.ts';

/** The identity providers Lanyard knows the attribute names of; `generic` for any other. */
export const PROVIDERS = [
  'okta',
  'entra',
  'google',
  'jumpcloud',
  'keycloak',
  'auth0',
  'onelogin',
  'pingfederate',
  'adfs',
  'generic',
] as const;
/** A provider preset's name. */
export type Provider = (typeof PROVIDERS)[number];

/**
 * Which SAML attribute or OIDC claim carries each user property. `id`, when set, names a stable
 * user identifier to prefer over the NameID (SAML) or `sub` (OIDC).
 */
export interface AttributeMapping {
  email: string;
  firstName: string;
  lastName: string;
  groups: string;
  id?: string;
}

/** Overrides of a preset, as stored: only the keys the caller set. */
export type AttributeOverrides = Partial<Record<keyof AttributeMapping, string>>;

/** Every key of an attribute mapping. */
export const MAPPING_KEYS = ['email', 'firstName', 'lastName', 'groups', 'id'] as const satisfies readonly (keyof AttributeMapping)[];

// The claim type URIs of WS-Federation / AD FS claim descriptions, which Entra ID and AD FS send as SAML attribute names.
const CLAIMS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';
const MS_CLAIMS = {
  email: `${CLAIMS}/emailaddress`,
  firstName: `${CLAIMS}/givenname`,
  lastName: `${CLAIMS}/surname`,
};
const PLAIN = { email: 'email', firstName: 'firstName', lastName: 'lastName', groups: 'groups' };
// OIDC Core §5.1 standard claims; `groups` is the de-facto group claim (not standardised).
const OIDC_STANDARD = { email: 'email', firstName: 'given_name', lastName: 'family_name', groups: 'groups' };

interface Preset {
  label: string;
  saml: AttributeMapping;
  oidc: AttributeMapping;
}

/** Each provider's out-of-the-box attribute names (what its SAML app templates and ID tokens send by default). */
export const PRESETS: Record<Provider, Preset> = {
  okta: { label: 'Okta', saml: PLAIN, oidc: OIDC_STANDARD },
  entra: {
    label: 'Microsoft Entra ID',
    saml: {
      ...MS_CLAIMS,
      groups: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
      id: 'http://schemas.microsoft.com/identity/claims/objectidentifier',
    },
    // Entra ID tokens carry the sign-in name in preferred_username (`email` only as an optional claim) and app roles in `roles`.
    oidc: { email: 'preferred_username', firstName: 'given_name', lastName: 'family_name', groups: 'roles', id: 'oid' },
  },
  google: { label: 'Google Workspace', saml: PLAIN, oidc: OIDC_STANDARD },
  jumpcloud: {
    label: 'JumpCloud',
    saml: { email: 'email', firstName: 'firstname', lastName: 'lastname', groups: 'memberOf' },
    oidc: OIDC_STANDARD,
  },
  keycloak: { label: 'Keycloak', saml: PLAIN, oidc: OIDC_STANDARD },
  auth0: { label: 'Auth0', saml: { ...MS_CLAIMS, groups: 'http://schemas.xmlsoap.org/claims/Group' }, oidc: OIDC_STANDARD },
  onelogin: {
    label: 'OneLogin',
    saml: { email: 'User.email', firstName: 'User.FirstName', lastName: 'User.LastName', groups: 'memberOf' },
    oidc: OIDC_STANDARD,
  },
  pingfederate: {
    label: 'PingFederate',
    saml: { email: 'mail', firstName: 'givenName', lastName: 'sn', groups: 'memberOf' },
    oidc: OIDC_STANDARD,
  },
  adfs: { label: 'AD FS', saml: { ...MS_CLAIMS, groups: 'http://schemas.xmlsoap.org/claims/Group' }, oidc: OIDC_STANDARD },
  generic: { label: 'Generic', saml: PLAIN, oidc: OIDC_STANDARD },
};

/** The provider named in a request, or a 400 naming `field` with the providers on offer. */
export function parseProvider(value: string, field = 'provider'): Provider {
  if ((PROVIDERS as readonly string[]).includes(value)) return value as Provider;
  const message = `unknown provider "${value.slice(0, 40)}"; use one of ${PROVIDERS.join(', ')}`;
  throw new AppError('validation_failed', `${field} ${message}`, [{ field, message }]);
}

/** The preset for `provider` and `type` with `overrides` laid over it. */
export function effectiveMapping(provider: Provider, type: 'saml' | 'oidc', overrides: AttributeOverrides): AttributeMapping {
  const merged: AttributeMapping = { ...PRESETS[provider][type] };
  for (const key of MAPPING_KEYS) {
    const value = overrides[key];
    if (value !== undefined) merged[key] = value;
  }
  return merged;
}

/**
 * Applies a change to stored overrides: a string sets a key, null drops it (back to the preset),
 * an absent key is left as it was.
 */
export function mergeOverrides(
  stored: AttributeOverrides,
  change: Partial<Record<keyof AttributeMapping, string | null>>,
): AttributeOverrides {
  const next: AttributeOverrides = {};
  for (const key of MAPPING_KEYS) {
    const value = change[key] === undefined ? stored[key] : change[key];
    if (value !== null && value !== undefined) next[key] = value;
  }
  return next;
}
