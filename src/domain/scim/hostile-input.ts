import { ok, type Result } from '../result.ts';
import { isStorableText } from '../storable-text.ts';
import { scimFail, type ScimError } from './errors.ts';

/** Bounds on a SCIM body before anything reads it. */
export const INPUT_LIMITS = { maxDepth: 8, maxStringLength: 8192, maxNodes: 20_000 } as const;

/**
 * Walks a parsed JSON body without recursion and refuses what must never reach the database or a
 * recursive reader: nesting deeper than maxDepth, more than maxNodes values, strings (or keys)
 * with NUL or unpaired surrogates (PostgreSQL rejects both, which would otherwise be a 500), and
 * strings longer than maxStringLength.
 */
export function checkHostileInput(body: unknown): Result<void, ScimError> {
  const stack: { value: unknown; depth: number }[] = [{ value: body, depth: 0 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value, depth } = stack.pop() as { value: unknown; depth: number };
    if (++nodes > INPUT_LIMITS.maxNodes) return scimFail('scim_invalid_value', `the body has more than ${INPUT_LIMITS.maxNodes} values`);
    if (typeof value === 'string') {
      if (value.length > INPUT_LIMITS.maxStringLength)
        return scimFail('scim_invalid_value', `a string is longer than ${INPUT_LIMITS.maxStringLength} characters`);
      if (!isStorableText(value)) return scimFail('scim_invalid_value', 'a string holds a NUL character or an unpaired surrogate');
      continue;
    }
    if (typeof value === 'number' && !Number.isFinite(value)) return scimFail('scim_invalid_value', 'a number is not finite');
    if (value === null || typeof value !== 'object') continue;
    if (depth >= INPUT_LIMITS.maxDepth) return scimFail('scim_invalid_value', `the body nests deeper than ${INPUT_LIMITS.maxDepth} levels`);
    const children = Array.isArray(value) ? value : Object.entries(value as Record<string, unknown>).flat();
    for (const child of children) stack.push({ value: child, depth: depth + 1 });
  }
  return ok(undefined);
}
