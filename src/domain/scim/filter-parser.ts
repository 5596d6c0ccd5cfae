import { ok, type Result } from '../result.ts';
import { scimFail, type ScimError } from './errors.ts';

/**
 * The SCIM filter grammar (RFC 7644 §3.4.2.2, figure 1) parsed to an AST:
 *
 *   FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
 *   valuePath = attrPath "[" valFilter "]"
 *   attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
 *   logExp    = FILTER SP ("and" / "or") SP FILTER       ("and" binds tighter than "or")
 *   compValue = false / null / true / number / string    (string and number as in JSON, RFC 7159)
 *
 * ABNF literals are case-insensitive, so operators and true/false/null are too. Attribute paths
 * are kept as written here and resolved against a schema when the filter is compiled.
 */

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type Literal =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'null' };

export type Filter =
  | { readonly type: 'compare'; readonly path: string; readonly op: CompareOp; readonly value: Literal }
  | { readonly type: 'present'; readonly path: string }
  | { readonly type: 'and' | 'or'; readonly left: Filter; readonly right: Filter }
  | { readonly type: 'not'; readonly filter: Filter }
  | { readonly type: 'valuePath'; readonly path: string; readonly filter: Filter };

/** Bounds that keep a hostile filter from costing more than a normal one. */
export const FILTER_LIMITS = { maxLength: 2048, maxDepth: 16, maxNodes: 64 } as const;

const OPERATORS = new Set<string>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);

export type Token =
  | { readonly t: 'punct'; readonly v: '(' | ')' | '[' | ']'; readonly at: number }
  | { readonly t: 'word'; readonly v: string; readonly at: number }
  | { readonly t: 'string'; readonly v: string; readonly at: number }
  | { readonly t: 'number'; readonly v: number; readonly at: number };

const WORD = /[A-Za-z0-9:._$-]/;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/;
// RFC 8259 §7: unescaped, a string holds any code unit but the quote, the backslash and U+0000-U+001F.
const JSON_STRING = /^"(?:[ !#-[\]-\uffff]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Splits a filter or PATCH path into tokens; string literals are decoded as JSON strings. */
export function tokenize(text: string): Result<Token[], ScimError> {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charAt(i);
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '(' || c === ')' || c === '[' || c === ']') {
      tokens.push({ t: 'punct', v: c, at: i++ });
    } else if (c === '"') {
      const match = JSON_STRING.exec(text.slice(i));
      if (match === null) return scimFail('scim_invalid_filter', `unterminated or malformed string at position ${i}`);
      const value = JSON.parse(match[0]) as string;
      if (value.includes('\u0000') || LONE_SURROGATE.test(value))
        return scimFail('scim_invalid_filter', `string at position ${i} holds a NUL or an unpaired surrogate`);
      tokens.push({ t: 'string', v: value, at: i });
      i += match[0].length;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      const match = NUMBER.exec(text.slice(i));
      const next = match === null ? '' : text.charAt(i + match[0].length);
      if (match === null || WORD.test(next)) return scimFail('scim_invalid_filter', `malformed number at position ${i}`);
      tokens.push({ t: 'number', v: Number(match[0]), at: i });
      i += match[0].length;
    } else if (WORD.test(c)) {
      const start = i;
      while (i < text.length && WORD.test(text.charAt(i))) i++;
      tokens.push({ t: 'word', v: text.slice(start, i), at: start });
    } else {
      return scimFail('scim_invalid_filter', `unexpected character at position ${i}`);
    }
  }
  return ok(tokens);
}

/** A cursor over tokens shared by the filter and PATCH path parsers. */
export class TokenStream {
  private index = 0;
  nodes = 0;
  constructor(readonly tokens: readonly Token[]) {}
  peek(): Token | undefined {
    return this.tokens[this.index];
  }
  next(): Token | undefined {
    return this.tokens[this.index++];
  }
  atEnd(): boolean {
    return this.index >= this.tokens.length;
  }
  isWord(value: string): boolean {
    const token = this.peek();
    return token?.t === 'word' && token.v.toLowerCase() === value;
  }
  isPunct(value: string): boolean {
    const token = this.peek();
    return token?.t === 'punct' && token.v === value;
  }
}

const fail = (detail: string) => scimFail('scim_invalid_filter', detail);
const describe = (token: Token | undefined) => (token === undefined ? 'the end of the filter' : `"${token.v}" at position ${token.at}`);

/** Parses a whole filter (the `filter` query parameter). */
export function parseFilter(text: string): Result<Filter, ScimError> {
  if (text.length > FILTER_LIMITS.maxLength) return fail(`the filter is longer than ${FILTER_LIMITS.maxLength} characters`);
  const tokens = tokenize(text);
  if (!tokens.ok) return tokens;
  if (tokens.value.length === 0) return fail('the filter is empty');
  const stream = new TokenStream(tokens.value);
  const filter = parseOr(stream, 0, false);
  if (!filter.ok) return filter;
  if (!stream.atEnd()) return fail(`unexpected ${describe(stream.peek())}`);
  return filter;
}

/** Parses a filter inside `[...]` up to (not including) the closing bracket. */
export function parseValueFilter(stream: TokenStream, depth: number): Result<Filter, ScimError> {
  return parseOr(stream, depth, true);
}

function parseOr(stream: TokenStream, depth: number, inValuePath: boolean): Result<Filter, ScimError> {
  if (depth > FILTER_LIMITS.maxDepth) return scimFail('scim_too_many', `the filter nests deeper than ${FILTER_LIMITS.maxDepth} levels`);
  let left = parseAnd(stream, depth, inValuePath);
  while (left.ok && stream.isWord('or')) {
    stream.next();
    const right = parseAnd(stream, depth, inValuePath);
    if (!right.ok) return right;
    left = ok({ type: 'or', left: left.value, right: right.value });
  }
  return left;
}

function parseAnd(stream: TokenStream, depth: number, inValuePath: boolean): Result<Filter, ScimError> {
  let left = parseUnary(stream, depth, inValuePath);
  while (left.ok && stream.isWord('and')) {
    stream.next();
    const right = parseUnary(stream, depth, inValuePath);
    if (!right.ok) return right;
    left = ok({ type: 'and', left: left.value, right: right.value });
  }
  return left;
}

function parseUnary(stream: TokenStream, depth: number, inValuePath: boolean): Result<Filter, ScimError> {
  if (++stream.nodes > FILTER_LIMITS.maxNodes) return scimFail('scim_too_many', `the filter has more than ${FILTER_LIMITS.maxNodes} terms`);
  const negate = stream.isWord('not');
  if (negate) {
    stream.next();
    if (!stream.isPunct('(')) return fail(`"not" must be followed by "(", found ${describe(stream.peek())}`);
  }
  if (stream.isPunct('(')) {
    stream.next();
    const inner = parseOr(stream, depth + 1, inValuePath);
    if (!inner.ok) return inner;
    if (!stream.isPunct(')')) return fail(`expected ")", found ${describe(stream.peek())}`);
    stream.next();
    return ok(negate ? { type: 'not', filter: inner.value } : inner.value);
  }
  return parseAttrExp(stream, depth, inValuePath);
}

function parseAttrExp(stream: TokenStream, depth: number, inValuePath: boolean): Result<Filter, ScimError> {
  const pathToken = stream.next();
  if (pathToken?.t !== 'word' || !/^[A-Za-z$]/.test(pathToken.v)) return fail(`expected an attribute path, found ${describe(pathToken)}`);
  const path = pathToken.v;
  if (stream.isPunct('[')) {
    if (inValuePath) return fail(`value filters cannot nest ("${path}[" inside another)`);
    stream.next();
    const inner = parseValueFilter(stream, depth + 1);
    if (!inner.ok) return inner;
    if (!stream.isPunct(']')) return fail(`expected "]", found ${describe(stream.peek())}`);
    stream.next();
    const tail = stream.peek();
    if (tail?.t !== 'word' || !tail.v.startsWith('.')) return ok({ type: 'valuePath', path, filter: inner.value });
    // `emails[type eq "work"].value eq "…"`: not in RFC 7644's grammar, but what Entra ID sends when
    // that is its matching attribute (see quirks.ts); read as emails[type eq "work" and value eq "…"].
    stream.next();
    const condition = parseComparison(stream, tail.v.slice(1));
    if (!condition.ok) return condition;
    return ok({ type: 'valuePath', path, filter: { type: 'and', left: inner.value, right: condition.value } });
  }
  return parseComparison(stream, path);
}

/** The rest of an attrExp after its path: `pr`, or an operator and a value. */
function parseComparison(stream: TokenStream, path: string): Result<Filter, ScimError> {
  const opToken = stream.next();
  const op = opToken?.t === 'word' ? opToken.v.toLowerCase() : '';
  if (op === 'pr') return ok({ type: 'present', path });
  if (!OPERATORS.has(op)) return fail(`expected an operator (eq ne co sw ew gt ge lt le pr) after "${path}", found ${describe(opToken)}`);
  const value = parseLiteral(stream.next());
  if (!value.ok) return value;
  return ok({ type: 'compare', path, op: op as CompareOp, value: value.value });
}

function parseLiteral(token: Token | undefined): Result<Literal, ScimError> {
  if (token?.t === 'string') return ok({ kind: 'string', value: token.v });
  if (token?.t === 'number') return ok({ kind: 'number', value: token.v });
  if (token?.t === 'word') {
    const word = token.v.toLowerCase();
    if (word === 'true' || word === 'false') return ok({ kind: 'boolean', value: word === 'true' });
    if (word === 'null') return ok({ kind: 'null' });
  }
  return fail(`expected a value (a "string", a number, true, false or null), found ${describe(token)}`);
}
