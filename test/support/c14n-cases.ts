/**
 * The canonicalization cases of the differential tests: every element of a document, with each of
 * the four c14n variants (Canonical XML 1.1 is the 1.0 code path, see canonicalize.ts), each given
 * PrefixList for the exclusive ones, and, where the element has a ds:Signature child, also with that
 * child left out (the enveloped-signature transform).
 */
import { C14N_ALGORITHMS, c14nMethod, canonicalize, type C14nMethod } from '../../src/domain/saml/canonicalize.ts';
import { childElements, NS, parseXml } from '../../src/domain/saml/xml.ts';
import type { XmlElement, XmlTreeDocument, XmlTreeElement } from '../../src/domain/saml/xml-tree.ts';
import type { ProbeCase } from './xmlsec1.ts';

/** One canonicalization: which element (child-element indexes from the root), how, and what to leave out. */
export interface C14nCase {
  readonly path: readonly number[];
  readonly method: C14nMethod;
  /** The PrefixList as written in InclusiveNamespaces (so "#default" for the default namespace). */
  readonly prefixes: readonly string[];
  /** Index among the apex's child elements of the enveloped signature to leave out. */
  readonly omitIndex?: number;
}

/**
 * Parses `xml` with the verifier's parser; throws on a document the corpus loader should have filtered.
 * Typed as the tree's classes, which parseXml builds, for the tests that edit the parse.
 */
export function parseDocument(xml: string): { document: XmlTreeDocument; root: XmlTreeElement } {
  const parsed = parseXml(xml);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value as { document: XmlTreeDocument; root: XmlTreeElement };
}

/** The element at `path` (child-element indexes) below `root`. */
export function elementAt(root: XmlElement, path: readonly number[]): XmlElement {
  let element = root;
  for (const index of path) {
    const next = childElements(element)[index];
    if (next === undefined) throw new Error(`no element at /${path.join('/')}`);
    element = next;
  }
  return element;
}

/** The methods every element is canonicalized with. */
export const C14N_VARIANTS: readonly C14nMethod[] = [
  C14N_ALGORITHMS.exclusive,
  C14N_ALGORITHMS.exclusiveWithComments,
  C14N_ALGORITHMS.inclusive10,
  C14N_ALGORITHMS.inclusive10WithComments,
].map((uri) => c14nMethod(uri)!);

/** Every case over the elements below (and including) `root`. */
export function casesFor(root: XmlElement, prefixLists: readonly (readonly string[])[]): C14nCase[] {
  const cases: C14nCase[] = [];
  const visit = (element: XmlElement, path: number[]) => {
    const signatureIndexes = childElements(element).flatMap((child, index) =>
      child.namespaceURI === NS.ds && child.localName === 'Signature' ? [index] : [],
    );
    for (const method of C14N_VARIANTS) {
      for (const prefixes of method.exclusive ? [[], ...prefixLists] : [[]]) {
        cases.push({ path, method, prefixes });
        for (const omitIndex of signatureIndexes) cases.push({ path, method, prefixes, omitIndex });
      }
    }
    childElements(element).forEach((child, index) => visit(child, [...path, index]));
  };
  visit(root, []);
  return cases;
}

/** Lanyard's canonical form for `c14nCase` over `root`, with `prefixes` as the PrefixList; throws when refused. */
export function lanyardCanonicalize(root: XmlElement, c14nCase: C14nCase, prefixes: readonly string[] = c14nCase.prefixes): string {
  const apex = elementAt(root, c14nCase.path);
  const omitChild = c14nCase.omitIndex === undefined ? undefined : childElements(apex)[c14nCase.omitIndex];
  const result = canonicalize(apex, c14nCase.method, { ...(omitChild === undefined ? {} : { omitChild }), inclusivePrefixes: prefixes });
  if (!result.ok) throw new Error(`${describeCase(c14nCase)}: ${result.error.code}: ${result.error.message}`);
  return result.value;
}

/** The same case for {@link xmlsecCanonicalize}. */
export function probeCase(c14nCase: C14nCase): ProbeCase {
  return {
    path: c14nCase.path,
    ...(c14nCase.omitIndex === undefined ? {} : { omitPath: [...c14nCase.path, c14nCase.omitIndex] }),
    methodUri: c14nCase.method.uri,
    exclusive: c14nCase.method.exclusive,
    withComments: c14nCase.method.withComments,
    prefixes: c14nCase.prefixes,
  };
}

/** A one-line name for failure messages. */
export function describeCase(c14nCase: C14nCase): string {
  const method = c14nCase.method.uri.replace(/^.*\/(xml-exc-c14n#|REC-xml-c14n-20010315)/, '$1');
  const prefixes = c14nCase.prefixes.length > 0 ? ` PrefixList="${c14nCase.prefixes.join(' ')}"` : '';
  const omit = c14nCase.omitIndex === undefined ? '' : ` without child ${c14nCase.omitIndex}`;
  return `/${c14nCase.path.join('/')} ${method}${prefixes}${omit}`;
}
