/**
 * The SCIM schemas this server implements (RFC 7643 §4 and §8.7): the core User with the enterprise
 * extension, and the core Group. One description serves input normalisation, PATCH paths, filters,
 * projections and the /Schemas document, so what /Schemas says is what the server does.
 */

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export type AttributeType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex';

/** One attribute as RFC 7643 §7 describes it. */
export interface AttributeDef {
  readonly name: string;
  readonly type: AttributeType;
  readonly multiValued: boolean;
  readonly required: boolean;
  readonly caseExact: boolean;
  readonly mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  readonly returned: 'always' | 'never' | 'default' | 'request';
  readonly uniqueness: 'none' | 'server' | 'global';
  readonly description: string;
  readonly subAttributes?: readonly AttributeDef[];
  readonly canonicalValues?: readonly string[];
  readonly referenceTypes?: readonly string[];
}

/** A schema: its URN and top-level attributes. */
export interface SchemaDef {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly attributes: readonly AttributeDef[];
}

type Options = Partial<Omit<AttributeDef, 'name' | 'type' | 'description'>>;

function attr(name: string, type: AttributeType, description: string, options: Options = {}): AttributeDef {
  return {
    name,
    type,
    description,
    multiValued: false,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...options,
  };
}

const str = (name: string, description: string, options: Options = {}) => attr(name, 'string', description, options);

/** The sub-attributes of a multi-valued attribute such as emails (RFC 7643 §2.4). */
function multi(name: string, description: string, types: readonly string[], extra: readonly AttributeDef[] = []): AttributeDef {
  return attr(name, 'complex', description, {
    multiValued: true,
    subAttributes: [
      str('value', `The ${name} value`),
      str('display', 'A human-readable name'),
      str('type', 'A label indicating the function', types.length > 0 ? { canonicalValues: types } : {}),
      attr('primary', 'boolean', 'The primary value; at most one is true'),
      ...extra,
    ],
  });
}

const ref = (types: string[]) => attr('$ref', 'reference', 'The URI of the resource', { referenceTypes: types, caseExact: true });

const USER_ATTRIBUTES: readonly AttributeDef[] = [
  str('userName', 'Unique identifier for the user, compared case-insensitively', { required: true, uniqueness: 'server' }),
  attr('name', 'complex', "The components of the user's name", {
    subAttributes: [
      str('formatted', 'The full name'),
      str('familyName', 'The family name'),
      str('givenName', 'The given name'),
      str('middleName', 'The middle name'),
      str('honorificPrefix', 'The honorific prefix'),
      str('honorificSuffix', 'The honorific suffix'),
    ],
  }),
  str('displayName', 'The name to display'),
  str('nickName', 'The casual name'),
  attr('profileUrl', 'reference', 'A URI to the online profile', { referenceTypes: ['external'], caseExact: true }),
  str('title', 'The title, such as "Vice President"'),
  str('userType', 'The relationship to the organization'),
  str('preferredLanguage', 'The preferred written or spoken language'),
  str('locale', 'The default location, for localisation'),
  str('timezone', 'The time zone, in the IANA format'),
  attr('active', 'boolean', "The user's administrative status"),
  str('password', 'Never stored and never returned', { mutability: 'writeOnly', returned: 'never' }),
  multi('emails', 'Email addresses', ['work', 'home', 'other']),
  multi('phoneNumbers', 'Phone numbers', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
  multi('ims', 'Instant messaging addresses', []),
  multi('photos', 'URLs of photos', ['photo', 'thumbnail']),
  attr('addresses', 'complex', 'Physical mailing addresses', {
    multiValued: true,
    subAttributes: [
      str('formatted', 'The full address'),
      str('streetAddress', 'The street'),
      str('locality', 'The city'),
      str('region', 'The state or region'),
      str('postalCode', 'The postal code'),
      str('country', 'The country, ISO 3166-1 alpha-2'),
      str('type', 'A label indicating the function', { canonicalValues: ['work', 'home', 'other'] }),
      attr('primary', 'boolean', 'The primary address'),
    ],
  }),
  attr('groups', 'complex', 'The groups the user belongs to (read-only: change a group’s members)', {
    multiValued: true,
    mutability: 'readOnly',
    subAttributes: [
      str('value', 'The group id', { mutability: 'readOnly' }),
      ref(['Group']),
      str('display', 'The group displayName', { mutability: 'readOnly' }),
      str('type', 'direct', { mutability: 'readOnly', canonicalValues: ['direct'] }),
    ],
  }),
  multi('entitlements', 'Entitlements', []),
  multi('roles', 'Roles', []),
  multi('x509Certificates', 'Certificates', []),
];

const ENTERPRISE_ATTRIBUTES: readonly AttributeDef[] = [
  str('employeeNumber', 'The employee number'),
  str('costCenter', 'The cost center'),
  str('organization', 'The organization'),
  str('division', 'The division'),
  str('department', 'The department'),
  attr('manager', 'complex', "The user's manager", {
    subAttributes: [
      str('value', "The manager's id"),
      ref(['User']),
      str('displayName', "The manager's displayName", { mutability: 'readOnly' }),
    ],
  }),
];

const GROUP_ATTRIBUTES: readonly AttributeDef[] = [
  str('displayName', 'A human-readable name for the group', { required: true }),
  attr('members', 'complex', 'The members of the group (users of the same directory)', {
    multiValued: true,
    subAttributes: [
      str('value', 'The member’s id', { mutability: 'immutable', caseExact: true }),
      ref(['User']),
      str('display', 'The member’s userName', { mutability: 'readOnly' }),
      str('type', 'User', { mutability: 'immutable', canonicalValues: ['User'] }),
    ],
  }),
];

export const USER: SchemaDef = { id: USER_SCHEMA, name: 'User', description: 'User Account', attributes: USER_ATTRIBUTES };
export const ENTERPRISE_USER: SchemaDef = {
  id: ENTERPRISE_SCHEMA,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  attributes: ENTERPRISE_ATTRIBUTES,
};
export const GROUP: SchemaDef = { id: GROUP_SCHEMA, name: 'Group', description: 'Group', attributes: GROUP_ATTRIBUTES };

/** Attributes every resource has besides its schema's (RFC 7643 §3.1). */
export const COMMON_ATTRIBUTES: readonly AttributeDef[] = [
  str('id', 'Assigned by Lanyard', { caseExact: true, mutability: 'readOnly', returned: 'always', uniqueness: 'server' }),
  str('externalId', "The IdP's own identifier", { caseExact: true }),
  attr('meta', 'complex', 'Resource metadata', {
    mutability: 'readOnly',
    subAttributes: [
      str('resourceType', 'User or Group', { caseExact: true, mutability: 'readOnly' }),
      attr('created', 'dateTime', 'When the resource was created', { mutability: 'readOnly' }),
      attr('lastModified', 'dateTime', 'When the resource last changed', { mutability: 'readOnly' }),
      attr('location', 'reference', 'The URI of the resource', { caseExact: true, mutability: 'readOnly' }),
      str('version', 'The weak ETag of the resource', { caseExact: true, mutability: 'readOnly' }),
    ],
  }),
];

/** A resource type: its core schema and extensions. */
export interface ResourceKind {
  readonly name: 'User' | 'Group';
  readonly endpoint: '/Users' | '/Groups';
  readonly core: SchemaDef;
  readonly extensions: readonly SchemaDef[];
}

export const USER_KIND: ResourceKind = { name: 'User', endpoint: '/Users', core: USER, extensions: [ENTERPRISE_USER] };
export const GROUP_KIND: ResourceKind = { name: 'Group', endpoint: '/Groups', core: GROUP, extensions: [] };

/** Finds an attribute by name, case-insensitively (RFC 7643 §2.1: attribute names are case insensitive). */
export function findAttribute(attributes: readonly AttributeDef[], name: string): AttributeDef | undefined {
  const lower = name.toLowerCase();
  return attributes.find((a) => a.name.toLowerCase() === lower);
}

/** The extension schema whose URN this is, case-insensitively. */
export function findExtension(kind: ResourceKind, urn: string): SchemaDef | undefined {
  const lower = urn.toLowerCase();
  return kind.extensions.find((s) => s.id.toLowerCase() === lower);
}

/** Top-level attributes of a kind's core schema plus the common ones. */
export function coreAttributes(kind: ResourceKind): readonly AttributeDef[] {
  return [...COMMON_ATTRIBUTES, ...kind.core.attributes];
}
