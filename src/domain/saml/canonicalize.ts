import { canonicalizeSubset } from './c14n.ts';
import { ok } from '../result.ts';
import { fail, type SamlResult } from './errors.ts';
import type { XmlElement } from './xml-tree.ts';

/** Canonicalization algorithm URIs accepted for SignedInfo and as Reference transforms. */
export const C14N_ALGORITHMS = {
  exclusive: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  exclusiveWithComments: 'http://www.w3.org/2001/10/xml-exc-c14n#WithComments',
  inclusive10: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
  inclusive10WithComments: 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments',
  inclusive11: 'http://www.w3.org/2006/12/xml-c14n11',
  inclusive11WithComments: 'http://www.w3.org/2006/12/xml-c14n11#WithComments',
} as const;

/** What a canonicalization URI asks for. */
export interface C14nMethod {
  readonly uri: string;
  readonly exclusive: boolean;
  readonly withComments: boolean;
}

const METHODS: ReadonlyMap<string, C14nMethod> = new Map(
  [
    [C14N_ALGORITHMS.exclusive, true, false],
    [C14N_ALGORITHMS.exclusiveWithComments, true, true],
    [C14N_ALGORITHMS.inclusive10, false, false],
    [C14N_ALGORITHMS.inclusive10WithComments, false, true],
    // Canonical XML 1.1 differs from 1.0 only in how xml:id / xml:base / xml:lang / xml:space
    // attributes of *omitted ancestors* are carried into a document subset (C14N 1.1 §2.4: xml:id is
    // no longer inherited, xml:base is joined). When no ancestor of the canonicalized subtree carries
    // an xml:* attribute (checked in canonicalize, refused otherwise), 1.0 imports nothing either
    // (C14N 1.0 §2.4, see c14n.ts) and the two produce the same octets, so the 1.0 canonicalizer is
    // exact for 1.1 as well. This is what verifies the corpus's Okta c14n11 fixture (Reference
    // URI="", whole document: no omitted ancestors at all; and SignedInfo, whose ancestors
    // Signature/Response carry no xml:* attribute).
    [C14N_ALGORITHMS.inclusive11, false, false],
    [C14N_ALGORITHMS.inclusive11WithComments, false, true],
  ].map(([uri, exclusive, withComments]) => [
    uri as string,
    { uri: uri as string, exclusive: exclusive as boolean, withComments: withComments as boolean },
  ]),
);

/** The canonicalization method for an algorithm URI, or undefined when it is not one we accept. */
export function c14nMethod(uri: string): C14nMethod | undefined {
  return METHODS.get(uri);
}

/** Inclusive Canonical XML 1.0 without comments: the default when a Reference names no c14n (XML-DSig 1.1 §4.4.3.2). */
export const DEFAULT_REFERENCE_C14N: C14nMethod = { uri: C14N_ALGORITHMS.inclusive10, exclusive: false, withComments: false };

/** Canonical XML 1.1, produced by the 1.0 canonicalizer under the condition explained in METHODS. */
const C14N_11: ReadonlySet<string> = new Set([C14N_ALGORITHMS.inclusive11, C14N_ALGORITHMS.inclusive11WithComments]);

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const ELEMENT_NODE = 1;

export interface CanonicalizeOptions {
  /** A direct child of `apex` to leave out (the enveloped-signature transform, XML-DSig 1.1 §6.6.4). */
  readonly omitChild?: XmlElement;
  /** Exclusive c14n InclusiveNamespaces PrefixList (exc-c14n §3). */
  readonly inclusivePrefixes?: readonly string[];
  /** Force comments off: a same-document reference ("" or "#id") dereferences without comments (XML-DSig 1.1 §4.4.3.3). */
  readonly dropComments?: boolean;
}

/**
 * Canonicalizes `apex` and its subtree (minus `omitChild`) with the method's algorithm, without
 * touching the document (see c14n.ts). Canonical XML 1.1 is refused when an ancestor carries an
 * xml:* attribute, the one case where it differs from 1.0 (see METHODS).
 */
export function canonicalize(apex: XmlElement, method: C14nMethod, options: CanonicalizeOptions = {}): SamlResult<string> {
  if (C14N_11.has(method.uri) && hasInheritableXmlAttributes(apex)) {
    return fail(
      'saml_unsupported_algorithm',
      'The signed XML sits inside an element carrying xml:lang, xml:space, xml:base or xml:id, which inclusive ' +
        'canonicalization cannot reproduce here. Ask the identity provider to use exclusive canonicalization (http://www.w3.org/2001/10/xml-exc-c14n#).',
    );
  }
  const omitted = options.omitChild;
  if (omitted !== undefined && omitted.parentNode !== apex) {
    return fail('saml_signature_malformed', 'The enveloped signature is not a child of the element it signs.');
  }
  try {
    return ok(
      canonicalizeSubset(apex, {
        exclusive: method.exclusive,
        withComments: method.withComments && options.dropComments !== true,
        omit: omitted,
        // exc-c14n §4: the token "#default" in a PrefixList names the default namespace.
        inclusivePrefixes: (options.inclusivePrefixes ?? []).map((prefix) => (prefix === '#default' ? '' : prefix)),
      }),
    );
  } catch (error) {
    return fail('saml_malformed_xml', `The signed XML could not be canonicalized (${(error as Error).message}).`);
  }
}

/** Every namespace binding in scope at `element` (own and inherited), e.g. to re-home decrypted XML. */
export function namespacesInScope(element: XmlElement): { prefix: string; namespaceURI: string }[] {
  const bindings = new Map<string, string>();
  for (const attribute of element.attributes) {
    const prefix = namespaceDeclarationPrefix(attribute.name);
    if (prefix !== undefined) bindings.set(prefix, attribute.value);
  }
  for (const [prefix, namespaceURI] of ancestorBindings(element)) if (!bindings.has(prefix)) bindings.set(prefix, namespaceURI);
  return [...bindings].filter(([, namespaceURI]) => namespaceURI !== '').map(([prefix, namespaceURI]) => ({ prefix, namespaceURI }));
}

/** Prefix → namespace declared on the ancestors of `element`, the closest declaration winning. */
function ancestorBindings(element: XmlElement): Map<string, string> {
  const bindings = new Map<string, string>();
  for (let node = element.parentNode; node !== null && node.nodeType === ELEMENT_NODE; node = node.parentNode) {
    for (const attribute of node.attributes) {
      const prefix = namespaceDeclarationPrefix(attribute.name);
      if (prefix !== undefined && !bindings.has(prefix)) bindings.set(prefix, attribute.value);
    }
  }
  return bindings;
}

function namespaceDeclarationPrefix(attributeName: string): string | undefined {
  if (attributeName === 'xmlns') return '';
  return attributeName.startsWith('xmlns:') ? attributeName.slice(6) : undefined;
}

function hasInheritableXmlAttributes(apex: XmlElement): boolean {
  for (let node = apex.parentNode; node !== null && node.nodeType === ELEMENT_NODE; node = node.parentNode) {
    if (node.attributes.some((attribute) => attribute.namespaceURI === XML_NS)) return true;
  }
  return false;
}
