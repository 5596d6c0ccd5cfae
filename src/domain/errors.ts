/** One field-level problem, named by its dotted path in the request (`saml.ssoUrl`). */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

/**
 * Every error Lanyard reports on purpose: a stable `code` from the catalogue (which fixes the
 * HTTP status), a message safe to show the caller, optional field details, and an internal cause
 * that is logged but never sent.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: readonly FieldProblem[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AppError';
  }
}

/**
 * The error catalogue: every code the service may answer with, its HTTP status and what it
 * means. The README's error table is checked against it by a test.
 */
export const ERROR_CATALOGUE = {
  validation_failed: { status: 400, description: 'The request does not match the schema; `details` names each field.' },
  malformed_json: { status: 400, description: 'The body is not valid JSON.' },
  invalid_cursor: { status: 400, description: 'The pagination cursor was not produced by this API.' },
  invalid_url: { status: 400, description: 'The URL is malformed: a percent-encoding that is not UTF-8.' },
  malformed_request: { status: 400, description: 'The HTTP request could not be parsed (a bad method, header or framing).' },
  unauthenticated: { status: 401, description: 'No API key, an unknown one, or a revoked one.' },
  forbidden: {
    status: 403,
    description: 'The API key is valid but may not do this (e.g. an organization key acting beyond its organization).',
  },
  not_found: { status: 404, description: 'No such resource, or not visible to this API key.' },
  route_not_found: { status: 404, description: 'No such route.' },
  method_not_allowed: { status: 405, description: 'The path exists, but not with this method; `Allow` lists the methods it has.' },
  request_timeout: { status: 408, description: 'The request was not received in time.' },
  conflict: { status: 409, description: 'A unique value (external id, domain, …) is already taken; `details` names the field.' },
  payload_too_large: { status: 413, description: 'The body is larger than 1 MiB.' },
  uri_too_long: { status: 414, description: 'A path segment is longer than 100 characters.' },
  unsupported_media_type: { status: 415, description: 'The body is not in a content type this route accepts.' },
  metadata_fetch_failed: {
    status: 422,
    description:
      'The SAML metadata URL could not be fetched (refused address, timeout, HTTP status, size, network) or did not serve ' +
      'usable IdP metadata; the message says which.',
  },
  oidc_discovery_failed: {
    status: 422,
    description:
      "The OIDC issuer's discovery document could not be fetched, or it disagrees (another issuer, missing endpoints); the message says which.",
  },
  no_metadata_url: {
    status: 409,
    description: 'The connection has no saml.metadataUrl, so there is nothing to refresh it from.',
  },
  webhook_endpoint_disabled: {
    status: 409,
    description: 'The webhook endpoint is disabled (by a key, or by Lanyard after a 410 Gone or 5 days of failures); enable it first.',
  },
  rate_limited: { status: 429, description: 'Too many requests in the window; `Retry-After` says when to retry.' },
  request_header_fields_too_large: { status: 431, description: 'The request line and headers are larger than 16 KiB.' },
  internal_error: { status: 500, description: 'An unexpected failure; the request id finds it in the logs.' },
  service_unavailable: { status: 503, description: 'A dependency (the database) is unreachable.' },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Shorthand for the common "not found or not yours" answer, which never says which. */
export function notFound(what: string): AppError {
  return new AppError('not_found', `${what} not found`);
}
