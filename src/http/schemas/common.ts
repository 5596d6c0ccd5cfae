import { Type, type TSchema } from 'typebox';

/** The contract's error body, for every 4xx/5xx response schema. */
export const ErrorResponse = Type.Object(
  {
    statusCode: Type.Integer(),
    error: Type.String(),
    code: Type.String(),
    message: Type.String(),
    requestId: Type.String(),
    details: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { $id: 'Error', description: 'Every 4xx/5xx answer of /v1' },
);

// A reference, so the document names one Error model instead of a copy per answer (app.ts adds the schema).
export const ErrorRef = Type.Ref('Error');

/** Error responses every authenticated route may give. */
export const errorResponses = {
  400: ErrorRef,
  401: ErrorRef,
  403: ErrorRef,
  404: ErrorRef,
  409: ErrorRef,
  429: ErrorRef,
} as const;

/** RFC 6749 §5.2's error body, which the OAuth endpoints answer. */
export const OAuthErrorResponse = Type.Object(
  { error: Type.String(), error_description: Type.Optional(Type.String()) },
  { description: 'An OAuth error (RFC 6749 §5.2)' },
);

/** The HTML failure page a person at the browser reads; sent as text, never serialized. */
export const FailurePageResponse = {
  description: 'A page that says what went wrong, with the request id to quote',
  content: { 'text/html': { schema: Type.String() } },
};

/**
 * A JSON answer a specification defines (discovery, JWKS, tokens, claims), documented by its name:
 * any object, serialized as it is.
 */
export function SpecifiedJson(description: string) {
  return { description, content: { 'application/json': { schema: Type.Object({}, { additionalProperties: true }) } } };
}

/** A redirect: the answer is its Location. */
export function RedirectResponse(description: string) {
  return { description, type: 'null' };
}

/** `?limit&cursor` of every list route. */
export const PageQuery = {
  limit: Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Page size (1–100)' }),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'The nextCursor of the previous page' })),
};

/** A page of `item`. */
export function PageOf<T extends TSchema>(item: T) {
  return Type.Object({ data: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });
}

/** A prefixed id path parameter (`org_…`). */
export function IdParams(prefix: string) {
  // Any string is looked up: an id that is malformed, unknown or another organization's is the same 404.
  return Type.Object({ id: Type.String({ minLength: 1, maxLength: 100, description: `${prefix}_… id` }) });
}

export const Timestamp = Type.String({ format: 'date-time' });

/** `T` or null. */
export function Nullable<T extends TSchema>(schema: T) {
  return Type.Union([schema, Type.Null()]);
}

/** A pattern for strings that reach SQL: PostgreSQL text holds no NUL character, so one would be a 500. */
export const NO_NUL = '^[^\\u0000]*$';
