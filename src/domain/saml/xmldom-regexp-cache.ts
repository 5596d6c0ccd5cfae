/**
 * Stops @xmldom/xmldom 0.9 from building and compiling a new regular expression for every end tag.
 *
 * Its parser (`lib/sax.js`, `parseElementEndTag` path) calls `grammar.reg('^', QName_group, S_OPT,
 * '$')` once per end tag: that joins the sources of a large Unicode character class into a new
 * RegExp each time. On a 7.5 KB SAML response (61 end tags) this was ~40% of the parse and a quarter
 * of a whole verification (bench/README.md, "Where the time goes"). The arguments are always the
 * same grammar constants, so the result can be shared: a RegExp without the `g` or `y` flag keeps
 * no state between `exec` calls.
 *
 * The cache answers only calls made of RegExp objects and the anchors `^`/`$` (the grammar's
 * constants, a handful of them), so it cannot grow with input. Remove this module once xmldom hoists
 * those expressions itself; `test/saml/xml.test.ts` fails when the cache is not in effect, so an
 * upgrade that changes xmldom's internals is noticed rather than silently slower.
 */
import { createRequire } from 'node:module';

type Part = string | RegExp;
interface Grammar {
  reg?: (...parts: Part[]) => RegExp;
}

const grammar = createRequire(import.meta.url)('@xmldom/xmldom/lib/grammar.js') as Grammar;
const build = grammar.reg;

if (typeof build === 'function') {
  const ids = new WeakMap<RegExp, number>();
  const cache = new Map<string, RegExp>();
  let nextId = 0;
  /** The parts' identities as a string, or undefined when a part is not a constant this cache may hold. */
  const cacheKey = (parts: readonly Part[]): string | undefined => {
    let key = '';
    for (const part of parts) {
      if (part === '^' || part === '$') key += part;
      else if (part instanceof RegExp) {
        let id = ids.get(part);
        if (id === undefined) ids.set(part, (id = nextId++));
        key += `#${id}`;
      } else return undefined;
    }
    return key;
  };
  grammar.reg = function cachedReg(this: unknown, ...parts: Part[]): RegExp {
    const key = cacheKey(parts);
    if (key === undefined) return build.apply(this, parts);
    let expression = cache.get(key);
    if (expression === undefined) {
      expression = build.apply(this, parts);
      if (expression.global || expression.sticky) return expression;
      cache.set(key, expression);
    }
    return expression;
  };
}
