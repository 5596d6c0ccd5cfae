/**
 * xml-crypto's canonicalizers, driven exactly as src/domain/saml/canonicalize.ts drove them before
 * Lanyard had its own (src/domain/saml/c14n.ts): the reference the differential tests compare with.
 * xml-crypto canonicalizes a live DOM node and changes that DOM (the exclusive canonicalizer writes
 * PrefixList declarations onto the apex, and the enveloped signature has to be detached), so every
 * call that can change the DOM works on a fresh parse of the document.
 */
import type { Element } from '@xmldom/xmldom';
import {
  C14nCanonicalization,
  C14nCanonicalizationWithComments,
  ExclusiveCanonicalization,
  ExclusiveCanonicalizationWithComments,
} from 'xml-crypto';
import { childElements } from '../../src/domain/saml/xml.ts';
import type { XmlElement } from '../../src/domain/saml/xml-tree.ts';
import { elementAt, type C14nCase } from './c14n-cases.ts';
import { asXmldom } from './xmldom.ts';

/**
 * The PrefixList xml-crypto actually uses: given none, its exclusive canonicalizer reads the one of
 * an InclusiveNamespaces inside a CanonicalizationMethod child of the apex (SignedInfo's own), split
 * on single spaces. The equivalent input for Lanyard's canonicalizer is that list.
 */
export function xmlCryptoPrefixes(apex: XmlElement, c14nCase: C14nCase): readonly string[] {
  if (!c14nCase.method.exclusive || c14nCase.prefixes.length > 0) return c14nCase.prefixes;
  const method = childElements(apex).find((el) => el.localName === 'CanonicalizationMethod');
  const inclusive = method === undefined ? undefined : childElements(method).find((el) => el.localName === 'InclusiveNamespaces');
  return inclusive === undefined ? [] : (inclusive.getAttribute('PrefixList') ?? '').split(' ');
}

/** True when xml-crypto would change the DOM for this case, which then needs its own fresh parse. */
export function xmlCryptoMutates(apex: XmlElement, c14nCase: C14nCase): boolean {
  return c14nCase.omitIndex !== undefined || xmlCryptoPrefixes(apex, c14nCase).length > 0;
}

/** xml-crypto's canonical form for `c14nCase` over `root` (a DOM it may change, see {@link xmlCryptoMutates}). */
export function xmlCryptoCanonicalize(root: XmlElement, c14nCase: C14nCase): string {
  const target = elementAt(root, c14nCase.path);
  const apex = asXmldom(target);
  if (c14nCase.omitIndex !== undefined) apex.removeChild(asXmldom(childElements(target)[c14nCase.omitIndex]!));
  const { exclusive, withComments } = c14nCase.method;
  const canonicalizer = exclusive
    ? withComments
      ? new ExclusiveCanonicalizationWithComments()
      : new ExclusiveCanonicalization()
    : withComments
      ? new C14nCanonicalizationWithComments()
      : new C14nCanonicalization();
  return canonicalizer.process(apex, {
    ancestorNamespaces: inheritedNamespaces(apex),
    inclusiveNamespacesPrefixList: [...c14nCase.prefixes],
  });
}

/**
 * The namespace declarations in scope at `apex` that come from its ancestors, closest first, as
 * xml-crypto's canonicalizers expect them: without the ones `apex` redeclares, without the one for
 * its own prefix (rendered anyway), and without undeclarations (`xmlns=""` is no namespace node,
 * XPath 1.0 §5.4). Unchanged from the former src/domain/saml/canonicalize.ts.
 */
function inheritedNamespaces(apex: Element): { prefix: string; namespaceURI: string }[] {
  const skip = new Set<string>();
  for (let i = 0; i < apex.attributes.length; i++) {
    const prefix = declaredPrefix(apex.attributes.item(i)!.name);
    if (prefix !== undefined) skip.add(prefix);
  }
  skip.add(apex.prefix ?? '');
  const bindings = new Map<string, string>();
  for (let node = apex.parentNode; node !== null && node.nodeType === 1; node = node.parentNode) {
    const ancestor = node as Element;
    for (let i = 0; i < ancestor.attributes.length; i++) {
      const attribute = ancestor.attributes.item(i)!;
      const prefix = declaredPrefix(attribute.name);
      if (prefix !== undefined && !bindings.has(prefix)) bindings.set(prefix, attribute.value);
    }
  }
  return [...bindings]
    .filter(([prefix, namespaceURI]) => !skip.has(prefix) && namespaceURI !== '')
    .map(([prefix, namespaceURI]) => ({ prefix, namespaceURI }));
}

function declaredPrefix(attributeName: string): string | undefined {
  if (attributeName === 'xmlns') return '';
  return attributeName.startsWith('xmlns:') ? attributeName.slice(6) : undefined;
}
