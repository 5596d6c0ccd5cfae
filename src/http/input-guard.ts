import type { FastifyInstance } from 'fastify';
import { isStorableText, toStorableText } from '../domain/storable-text.ts';

/** Where in the request a refused value was. */
export type RequestPart = 'params' | 'querystring' | 'body';

/**
 * Nesting a body may have: deeper than any schema here accepts, shallow enough that no recursive
 * reader (ajv, jsonb's parser, whose stack limit is error 54001) is ever at risk.
 */
const MAX_DEPTH = 32;

/**
 * A request value that must never reach the database. It carries a 4xx status, so every scope's
 * error handler answers it in that scope's shape: the API's error, an OAuth error, a SCIM error or a page.
 */
export class UnstorableInputError extends Error {
  readonly statusCode: 400 | 404;

  constructor(
    readonly part: RequestPart,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${part}/${field} ${problem}`);
    this.name = 'UnstorableInputError';
    // A path segment no row can have names nothing: the same 404 as any unknown id.
    this.statusCode = part === 'params' ? 404 : 400;
  }
}

/** The first value of `input` that PostgreSQL would refuse, walked without recursion. */
function findUnstorable(input: unknown): { field: string; problem: string } | undefined {
  const stack: { value: unknown; path: readonly string[] }[] = [{ value: input, path: [] }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value, path } = item;
    const field = path.join('.') || '(root)';
    if (typeof value === 'string') {
      if (!isStorableText(value)) return { field, problem: 'must not contain NUL characters or unpaired UTF-16 surrogates' };
      continue;
    }
    if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) continue;
    if (path.length >= MAX_DEPTH) return { field, problem: `nests deeper than ${MAX_DEPTH} levels` };
    for (const [key, child] of Object.entries(value)) {
      if (!isStorableText(key))
        return { field: [...path, toStorableText(key)].join('.'), problem: 'is a name with NUL characters or unpaired UTF-16 surrogates' };
      stack.push({ value: child, path: [...path, key] });
    }
  }
  return undefined;
}

function refuseUnstorable(part: RequestPart, input: unknown): void {
  const found = findUnstorable(input);
  if (found !== undefined) throw new UnstorableInputError(part, found.field, found.problem);
}

/**
 * The one guard in front of every route (register it before them): path parameters and the query
 * string are checked as soon as the request arrives, before any scope's own hooks (authentication,
 * SCIM's directory lookup) read them, and the parsed body before validation.
 */
export function registerInputGuard(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    refuseUnstorable('params', request.params);
    refuseUnstorable('querystring', request.query);
  });
  app.addHook('preValidation', async (request) => {
    refuseUnstorable('body', request.body);
  });
}
