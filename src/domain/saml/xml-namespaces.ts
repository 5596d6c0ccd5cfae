/**
 * Namespaces in XML 1.0 for the parser (xml-parser.ts): the bindings in scope while it reads, the
 * declarations a start tag makes, and the constraints on both.
 */
import { fail } from './xml-characters.ts';
import { XML_NAMESPACE, XMLNS_NAMESPACE, type XmlAttr } from './xml-tree.ts';

/** In-scope namespace bindings (Namespaces 1.0 §6.1), with an undo log to leave each element's scope. */
export interface Scope {
  readonly bindings: Map<string, string | null>;
  readonly undoPrefixes: string[];
  readonly undoUris: (string | null | undefined)[];
}

/** The bindings at the start of a document: no default namespace, and xml bound by definition (§3). */
export function createScope(): Scope {
  return {
    bindings: new Map<string, string | null>([
      ['', null],
      ['xml', XML_NAMESPACE],
    ]),
    undoPrefixes: [],
    undoUris: [],
  };
}

/**
 * Namespaces 1.0 §3 and its constraints: "xmlns" is never declared, "xml" only to its own name, no
 * other prefix to either reserved name, and a prefix is never undeclared (`xmlns:p=""`, NSC: No
 * Prefix Undeclaring); `xmlns=""` undeclares the default namespace.
 */
export function declareNamespaces(scope: Scope, names: readonly string[], values: readonly string[], count: number): void {
  for (let i = 0; i < count; i++) {
    const name = names[i] ?? '';
    if (name.charCodeAt(0) !== 0x78 /* x */ || !name.startsWith('xmlns') || (name.length > 5 && name.charCodeAt(5) !== 0x3a)) continue;
    const prefix = name.length === 5 ? '' : name.slice(6);
    const uri = values[i] ?? '';
    if (prefix === 'xmlns') fail('it declares the prefix xmlns');
    if (prefix === 'xml') {
      if (uri !== XML_NAMESPACE) fail('it binds the prefix xml to another namespace');
      continue;
    }
    if (uri === XML_NAMESPACE || uri === XMLNS_NAMESPACE)
      fail(`it binds ${prefix === '' ? 'the default namespace' : `the prefix ${prefix}`} to a reserved namespace`);
    if (prefix !== '' && uri === '') fail(`it undeclares the prefix ${prefix} (Namespaces 1.0 NSC: No Prefix Undeclaring)`);
    scope.undoPrefixes.push(prefix);
    scope.undoUris.push(scope.bindings.get(prefix));
    scope.bindings.set(prefix, uri === '' ? null : uri);
  }
}

/** The namespace of a name with this prefix (null: the default namespace); an unbound prefix is refused (NSC: Prefix Declared). */
export function resolve(scope: Scope, prefix: string | null, name: string): string | null {
  if (prefix === null) return scope.bindings.get('') ?? null;
  const uri = scope.bindings.get(prefix);
  if (uri === undefined || uri === null) fail(`the prefix of ${name} is not declared`);
  return uri;
}

/** Leaves the scopes opened since `mark`, making visible again the bindings they shadowed. */
export function leaveScope(scope: Scope, mark: number): void {
  const { bindings, undoPrefixes, undoUris } = scope;
  while (undoPrefixes.length > mark) {
    const prefix = undoPrefixes.pop() ?? '';
    const uri = undoUris.pop();
    if (uri === undefined) bindings.delete(prefix);
    else bindings.set(prefix, uri);
  }
}

/** Namespaces 1.0 §6.3 NSC: Attributes Unique (two prefixes bound to one namespace, one local name). */
export function refuseDuplicateExpandedNames(attributes: readonly XmlAttr[], element: string): void {
  const seen = new Set<string>();
  for (const attribute of attributes) {
    if (attribute.prefix === null || attribute.prefix === 'xmlns') continue;
    const key = `${attribute.namespaceURI ?? ''} ${attribute.localName}`;
    if (seen.has(key)) fail(`<${element}> has the attribute {${attribute.namespaceURI}}${attribute.localName} twice`);
    seen.add(key);
  }
}
