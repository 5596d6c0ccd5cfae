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

/** Error responses every authenticated route may give. */
export const errorResponses = {
  400: ErrorResponse,
  401: ErrorResponse,
  403: ErrorResponse,
  404: ErrorResponse,
  409: ErrorResponse,
  429: ErrorResponse,
} as const;

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
