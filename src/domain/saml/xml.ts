import { err, ok, type Result } from '../result.ts';
import { parseXmlTree, XmlSyntaxError } from './xml-parser.ts';
import type { XmlDocument, XmlElement, XmlNode } from './xml-tree.ts';

/** Namespaces used across SAML 2.0 messages, metadata and XML-DSig / XML-Enc. */
export const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
  xenc11: 'http://www.w3.org/2009/xmlenc11#',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
} as const;

/** Why a document was refused before any SAML logic looked at it. */
export type XmlParseFailure =
  | { code: 'xml_too_large'; message: string }
  | { code: 'xml_doctype_forbidden'; message: string }
  | { code: 'xml_too_complex'; message: string }
  | { code: 'xml_malformed'; message: string };

/**
 * The shape an accepted document may have, far beyond any SAML message or IdP metadata (a 1 MiB
 * metadata aggregate holds about 5 elements per KB, a response with hundreds of groups a few
 * thousand). A tree costs the parser about 1 KB per element, so without these bounds a 700 KB
 * document of 100,000 nested or 170,000 empty elements cost 135–160 MB and 1.5–2 s per request. The
 * depth bound also keeps the recursive canonicalizer and `textOf` far from the stack limit.
 */
export const XML_LIMITS = { maxDepth: 64, maxElements: 10_000, maxAttributesPerElement: 256, maxAttributes: 20_000 } as const;

export type XmlParseResult = Result<{ document: XmlDocument; root: XmlElement }, XmlParseFailure>;

const ELEMENT_NODE = 1;

/**
 * Parses untrusted XML once, refusing what an identity provider never needs to send: a DOCTYPE
 * (entity expansion, external entities), more than one root, NUL bytes, more than `maxBytes`, or
 * a shape beyond {@link XML_LIMITS} (measured on the text, before any tree is built).
 * Anything not well-formed or not namespace-well-formed refuses the document (xml-parser.ts): a SAML
 * message is machine-written, so an "almost well-formed" one is an attack or a bug, never something to repair.
 */
export function parseXml(xml: string, maxBytes = 1024 * 1024): XmlParseResult {
  if (Buffer.byteLength(xml, 'utf8') > maxBytes) {
    return err({ code: 'xml_too_large', message: `The XML document is larger than ${maxBytes} bytes.` });
  }
  const text = xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml;
  if (text.includes('\u0000')) return malformed('The XML document contains a NUL character.');
  // Checked on the text, so that the parser never sees a declaration at all (it would refuse one as malformed).
  if (hasDeclaration(text)) {
    return err({ code: 'xml_doctype_forbidden', message: 'XML with a DOCTYPE or entity declaration is not accepted.' });
  }
  const excess = exceededLimit(text);
  if (excess !== undefined) return err({ code: 'xml_too_complex', message: `The XML document ${excess}.` });
  let tree: ReturnType<typeof parseXmlTree>;
  try {
    tree = parseXmlTree(text);
  } catch (error) {
    if (error instanceof XmlSyntaxError) return malformed(`The XML document is not well-formed: ${error.message}.`);
    throw error;
  }
  return ok(tree);
}

const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QUESTION = 0x3f;
const QUOT = 0x22;
/** What the parser reads as text, never as elements: comments, CDATA sections, processing instructions. */
const SKIPPED = [
  ['<!--', '-->'],
  ['<![CDATA[', ']]>'],
  ['<?', '?>'],
] as const;
/** From inside a start tag to its next quote or its end (native regex search: most of a SAML message is tags). */
const TAG_PART = /[^"'>]*["'>]/y;

/**
 * Walks the markup the way the parser will (comments, CDATA sections and processing instructions
 * skipped, attribute values skipped by their quotes) and says which of {@link XML_LIMITS} the
 * document exceeds, if any. Each attribute has exactly one quoted value, so quoted values are counted.
 * On text that is not well-formed the counts may be off, which is harmless as long as they are never
 * low (the parser refuses that text anyway): so a skipped section ends no earlier than the parser's.
 */
function exceededLimit(text: string): string | undefined {
  const { maxDepth, maxElements, maxAttributesPerElement, maxAttributes } = XML_LIMITS;
  let depth = 0;
  let elements = 0;
  let attributes = 0;
  for (let at = text.indexOf('<'); at !== -1; at = text.indexOf('<', at)) {
    const next = text.charCodeAt(at + 1);
    if (next === SLASH) {
      depth--;
      at += 2;
      continue;
    }
    if (next === BANG || next === QUESTION) {
      const skipped = SKIPPED.find(([open]) => text.startsWith(open, at));
      // Any other `<!` is malformed: step over the two characters only, so nothing after it goes uncounted.
      const end = skipped === undefined ? at : text.indexOf(skipped[1], at + skipped[0].length);
      if (end === -1) return undefined;
      at = skipped === undefined ? at + 2 : end + skipped[1].length;
      continue;
    }
    if (++elements > maxElements) return `has more than ${maxElements} elements`;
    let own = 0;
    let end = at + 1;
    for (;;) {
      TAG_PART.lastIndex = end;
      if (!TAG_PART.test(text)) return undefined;
      end = TAG_PART.lastIndex - 1;
      const c = text.charCodeAt(end);
      if (c === GT) break;
      if (++own > maxAttributesPerElement) return `has an element with more than ${maxAttributesPerElement} attributes`;
      end = text.indexOf(c === QUOT ? '"' : "'", end + 1);
      if (end === -1) return undefined;
      end++;
    }
    attributes += own;
    if (attributes > maxAttributes) return `has more than ${maxAttributes} attributes`;
    if (depth + 1 > maxDepth) return `nests elements more than ${maxDepth} deep`;
    // An empty-element tag opens no level for what follows.
    if (text.charCodeAt(end - 1) !== SLASH) depth++;
    at = end + 1;
  }
  return undefined;
}

const DECLARATION_Y = /DOCTYPE|ENTITY/iy;

/** `/<!DOCTYPE|<!ENTITY/i.test(text)`, looking only where "<!" occurs (rarely in a SAML message, so no second pass over it). */
function hasDeclaration(text: string): boolean {
  for (let at = text.indexOf('<!'); at !== -1; at = text.indexOf('<!', at + 2)) {
    DECLARATION_Y.lastIndex = at + 2;
    if (DECLARATION_Y.test(text)) return true;
  }
  return false;
}

function malformed(message: string): XmlParseResult {
  return err({ code: 'xml_malformed', message });
}

/** True when `node` is an element with this namespace and local name. */
export function isElement(node: XmlNode | null | undefined, ns: string, localName: string): node is XmlElement {
  return (
    node != null &&
    node.nodeType === ELEMENT_NODE &&
    (node as XmlElement).namespaceURI === ns &&
    (node as XmlElement).localName === localName
  );
}

/** The element children of `parent`, in document order. */
export function childElements(parent: XmlNode): XmlElement[] {
  const out: XmlElement[] = [];
  for (let child = parent.firstChild; child !== null; child = child.nextSibling) {
    if (child.nodeType === ELEMENT_NODE) out.push(child);
  }
  return out;
}

/** The element children of `parent` with this namespace and local name. */
export function children(parent: XmlNode, ns: string, localName: string): XmlElement[] {
  return childElements(parent).filter((el) => el.namespaceURI === ns && el.localName === localName);
}

/** The only such child, `undefined` when absent; more than one is reported as `'many'`. */
export function onlyChild(parent: XmlNode, ns: string, localName: string): XmlElement | undefined | 'many' {
  const found = children(parent, ns, localName);
  if (found.length > 1) return 'many';
  return found[0];
}

/** The first such child, or undefined. */
export function firstChild(parent: XmlNode, ns: string, localName: string): XmlElement | undefined {
  return children(parent, ns, localName)[0];
}

/**
 * The text content of an element: text and CDATA concatenated, comments and processing
 * instructions ignored (so a comment injected into a NameID never truncates it).
 */
export function textOf(element: XmlElement): string {
  let out = '';
  for (let child = element.firstChild; child !== null; child = child.nextSibling) {
    if (child.nodeType === 3 || child.nodeType === 4) out += child.nodeValue;
    else if (child.nodeType === ELEMENT_NODE) out += textOf(child);
  }
  return out;
}

/** An attribute's value, or undefined when the attribute is absent (never the empty string for absent). */
export function attr(element: XmlElement, name: string): string | undefined {
  return element.hasAttribute(name) ? (element.getAttribute(name) ?? undefined) : undefined;
}

/** Every element below `root` (including it) in document order, without recursion limits on deep trees. */
export function* descendants(root: XmlElement): Generator<XmlElement> {
  const stack: XmlElement[] = [root];
  for (let el = stack.pop(); el !== undefined; el = stack.pop()) {
    yield el;
    const kids = childElements(el);
    for (let i = kids.length - 1; i >= 0; i--) {
      const kid = kids[i];
      if (kid !== undefined) stack.push(kid);
    }
  }
}

/** Escapes a value for an XML attribute or text node. */
const XML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c);
}
