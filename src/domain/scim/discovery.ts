import { MAX_RESULTS } from './list-query.ts';
import {
  COMMON_ATTRIBUTES,
  GROUP_KIND,
  LIST_RESPONSE_SCHEMA,
  USER_KIND,
  type AttributeDef,
  type ResourceKind,
  type SchemaDef,
} from './schema.ts';

/**
 * The discovery documents (RFC 7644 §4, RFC 7643 §5–7), built from the same schema description
 * the server runs on, so they say exactly what is supported: PATCH, filters (maxResults
 * MAX_RESULTS), sorting, ETags; no bulk, no password change.
 */

const SPC_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';
const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

export function serviceProviderConfig(baseUrl: string): Record<string, unknown> {
  return {
    schemas: [SPC_SCHEMA],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: "The directory's SCIM token, sent as Authorization: Bearer <token>",
        specUri: 'https://www.rfc-editor.org/rfc/rfc6750',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}

export function resourceType(kind: ResourceKind, baseUrl: string): Record<string, unknown> {
  return {
    schemas: [RESOURCE_TYPE_SCHEMA],
    id: kind.name,
    name: kind.name,
    endpoint: kind.endpoint,
    description: kind.core.description,
    schema: kind.core.id,
    schemaExtensions: kind.extensions.map((e) => ({ schema: e.id, required: false })),
    meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/${kind.name}` },
  };
}

function describeAttribute(attribute: AttributeDef): Record<string, unknown> {
  return {
    name: attribute.name,
    type: attribute.type,
    multiValued: attribute.multiValued,
    description: attribute.description,
    required: attribute.required,
    caseExact: attribute.caseExact,
    mutability: attribute.mutability,
    returned: attribute.returned,
    uniqueness: attribute.uniqueness,
    ...(attribute.canonicalValues ? { canonicalValues: attribute.canonicalValues } : {}),
    ...(attribute.referenceTypes ? { referenceTypes: attribute.referenceTypes } : {}),
    ...(attribute.subAttributes ? { subAttributes: attribute.subAttributes.map(describeAttribute) } : {}),
  };
}

export function schemaDocument(schema: SchemaDef, baseUrl: string): Record<string, unknown> {
  // id and meta are common to every resource (RFC 7643 §3.1); externalId is listed with each core schema.
  const extra =
    schema.id === USER_KIND.core.id || schema.id === GROUP_KIND.core.id ? COMMON_ATTRIBUTES.filter((a) => a.name === 'externalId') : [];
  return {
    schemas: [SCHEMA_SCHEMA],
    id: schema.id,
    name: schema.name,
    description: schema.description,
    attributes: [...extra, ...schema.attributes].map(describeAttribute),
    meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${schema.id}` },
  };
}

export const ALL_SCHEMAS: readonly SchemaDef[] = [USER_KIND.core, ...USER_KIND.extensions, GROUP_KIND.core];
export const ALL_KINDS: readonly ResourceKind[] = [USER_KIND, GROUP_KIND];

/** A ListResponse of discovery documents (RFC 7644 §4: /ResourceTypes and /Schemas answer lists). */
export function listOf(resources: Record<string, unknown>[]): Record<string, unknown> {
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults: resources.length,
    startIndex: 1,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}
