import { err } from '../result.ts';

/** The URN of every SCIM error body (RFC 7644 §3.12). */
export const SCIM_ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

/**
 * The SCIM error catalogue: every error the SCIM API answers with, its HTTP status, its `scimType`
 * (RFC 7644 §3.12, table 9) where the RFC defines one, and what it means. The README's SCIM error
 * table is checked against it by a test.
 */
export const SCIM_ERROR_CATALOGUE = {
  scim_invalid_filter: {
    status: 400,
    scimType: 'invalidFilter',
    description: 'The filter is malformed, or compares an attribute in a way this server does not support (never a wrong list).',
  },
  scim_too_many: { status: 400, scimType: 'tooMany', description: 'The filter is more complex than the server is willing to evaluate.' },
  scim_invalid_syntax: {
    status: 400,
    scimType: 'invalidSyntax',
    description: 'The body is not a SCIM request of the right shape (a PatchOp without Operations, an unknown op, not JSON).',
  },
  scim_invalid_path: { status: 400, scimType: 'invalidPath', description: 'A PATCH path is malformed or names no attribute.' },
  scim_no_target: {
    status: 400,
    scimType: 'noTarget',
    description: 'A PATCH path with a filter matched nothing to replace, or a remove has no path.',
  },
  scim_invalid_value: {
    status: 400,
    scimType: 'invalidValue',
    description:
      'A value is missing, of the wrong type, too long, names no user of the directory, or exceeds a bound (members per request, startIndex, count).',
  },
  scim_mutability: {
    status: 400,
    scimType: 'mutability',
    description: 'The request tries to change a read-only attribute (id, meta, groups).',
  },
  scim_unauthorized: { status: 401, description: "No bearer token, or not this directory's current (or grace-period) token." },
  scim_not_found: { status: 404, description: 'No such user or group in this directory.' },
  scim_route_not_found: { status: 404, description: 'No such SCIM endpoint.' },
  scim_uniqueness: {
    status: 409,
    scimType: 'uniqueness',
    description: 'The userName is already taken in this directory (compared case-insensitively).',
  },
  scim_precondition_failed: { status: 412, description: 'If-Match names a version the resource no longer has.' },
  scim_payload_too_large: { status: 413, description: 'The body is larger than 1 MiB.' },
  scim_unsupported_media_type: { status: 415, description: 'The body is not application/scim+json or application/json.' },
  scim_rate_limited: {
    status: 429,
    description: "The directory's request limit for the window is used up; Retry-After says when to retry.",
  },
  scim_internal_error: { status: 500, description: 'An unexpected failure; the request id finds it in the logs.' },
  scim_not_implemented: { status: 501, description: 'A SCIM feature this server does not offer (bulk, /Me, POST .search).' },
} as const satisfies Record<string, { status: number; scimType?: string; description: string }>;

export type ScimErrorCode = keyof typeof SCIM_ERROR_CATALOGUE;

/** An expected SCIM failure: a catalogued code and a detail safe to show the IdP's admin. */
export interface ScimError {
  readonly code: ScimErrorCode;
  readonly detail: string;
}

/** A failed Result carrying a SCIM error. */
export function scimFail(code: ScimErrorCode, detail: string): { readonly ok: false; readonly error: ScimError } {
  return err({ code, detail });
}

/** The SCIM error body (RFC 7644 §3.12): `status` is a string; scimType only where the RFC defines one. */
export function scimErrorBody(error: ScimError): { schemas: string[]; status: string; scimType?: string; detail: string } {
  const entry: { status: number; scimType?: string } = SCIM_ERROR_CATALOGUE[error.code];
  return {
    schemas: [SCIM_ERROR_URN],
    status: String(entry.status),
    ...(entry.scimType !== undefined ? { scimType: entry.scimType } : {}),
    detail: error.detail,
  };
}
