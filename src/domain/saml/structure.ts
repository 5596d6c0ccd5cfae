import { ok } from '../result.ts';
import { fail, type SamlResult } from './errors.ts';
import { attr, isElement, NS } from './xml.ts';
import type { XmlChild, XmlElement, XmlParent } from './xml-tree.ts';

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;
const PROCESSING_INSTRUCTION_NODE = 7;
const DOCUMENT_NODE = 9;
const ID_ATTRIBUTES = ['ID', 'Id', 'id'] as const;

/**
 * The one whole-document pass: collects every ID (SAML `ID`, XML-DSig/XML-Enc `Id`, and `id`)
 * into `ids`, and refuses what a genuine IdP response never contains but attacks do:
 *
 * - a repeated ID: a signature reference would be ambiguous (SAML core §5.4.2; XSW);
 * - a processing instruction: no IdP sends one, and a canonicalizer that renders one as plain text
 *   (xml-crypto's do) would let a PI stand in for signed text that `textOf` skips (same family as the
 *   NameID comment attacks);
 * - a samlp:Response below the root, or a saml:Assertion / EncryptedAssertion anywhere but directly
 *   under the root Response or inside saml:Advice (SAML core §2.6.1): hiding a signed copy in
 *   Extensions, StatusDetail, ds:Object or an unknown wrapper is the signature wrapping pattern;
 * - a NUL character written as `&#0;` (not an XML Char, XML 1.0 §2.2; it truncates identities downstream).
 *
 * Depth and size are bounded before this, by parseXml (XML_LIMITS), for every document it sees.
 *
 * `root` is the document's Response, or a decrypted Assertion (then `ids` already holds the outer IDs).
 */
export function indexDocument(root: XmlElement, ids: Set<string>): SamlResult<Set<string>> {
  const stack: XmlChild[] = [root];
  const document = root.parentNode;
  if (document !== null && document.nodeType === DOCUMENT_NODE) {
    for (let node = document.firstChild; node !== null; node = node.nextSibling) {
      // xmldom reports the XML declaration as a leading PI named "xml"; it is not part of the data model.
      const isDeclaration = node === document.firstChild && node.nodeName === 'xml';
      if (node.nodeType === PROCESSING_INSTRUCTION_NODE && !isDeclaration) return processingInstruction();
    }
  }
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (node.nodeType === PROCESSING_INSTRUCTION_NODE) return processingInstruction();
    if (node.nodeType === TEXT_NODE || node.nodeType === CDATA_SECTION_NODE) {
      if (node.nodeValue.includes('\u0000')) return nulCharacter();
      continue;
    }
    if (node.nodeType !== ELEMENT_NODE) continue;
    if (hasNulAttribute(node)) return nulCharacter();
    const duplicate = recordIds(node, ids);
    if (duplicate !== undefined) {
      return fail(
        'saml_duplicate_id',
        `The ID "${duplicate}" is used by more than one element; a genuine response never repeats an ID (this is how signature ` +
          `wrapping attacks hide a signed copy).`,
        { id: duplicate },
      );
    }
    if (node !== root) {
      const misplaced = misplacement(node, root);
      if (misplaced !== undefined) return misplaced;
    }
    for (let child = node.lastChild; child !== null; child = child.previousSibling) stack.push(child);
  }
  return ok(ids);
}

function recordIds(element: XmlElement, ids: Set<string>): string | undefined {
  for (const name of ID_ATTRIBUTES) {
    const value = attr(element, name);
    if (value === undefined) continue;
    if (ids.has(value)) return value;
    ids.add(value);
  }
  return undefined;
}

function misplacement(element: XmlElement, root: XmlElement): SamlResult<never> | undefined {
  if (hasName(element, NS.samlp, 'Response')) {
    return fail(
      'saml_signature_wrapping',
      `A second Response is hidden inside ${pathOf(element.parentNode)}; a genuine response never contains another one.`,
    );
  }
  const isAssertion = hasName(element, NS.saml, 'Assertion') || hasName(element, NS.saml, 'EncryptedAssertion');
  if (!isAssertion) return undefined;
  const parent = element.parentNode;
  const allowed = (parent === root && isElement(root, NS.samlp, 'Response')) || isElement(parent, NS.saml, 'Advice');
  if (allowed) return undefined;
  return fail(
    'saml_signature_wrapping',
    `An ${element.localName} sits inside ${pathOf(parent)}, where identity providers never put one (signature wrapping).`,
    { path: pathOf(element) },
  );
}

function hasName(element: XmlElement, ns: string, localName: string): boolean {
  return element.namespaceURI === ns && element.localName === localName;
}

/** A short path like /Response/Extensions/Assertion for messages (local names only). */
export function pathOf(node: XmlParent | null): string {
  const names: string[] = [];
  for (let current = node; current !== null && current.nodeType === ELEMENT_NODE; current = current.parentNode) {
    names.unshift(current.localName);
  }
  return `/${names.join('/')}`;
}

function processingInstruction(): SamlResult<never> {
  return fail('saml_malformed_xml', 'The XML contains a processing instruction (<?…?>), which SAML messages never use.');
}

function hasNulAttribute(element: XmlElement): boolean {
  return element.attributes.some((attribute) => attribute.value.includes('\u0000'));
}

function nulCharacter(): SamlResult<never> {
  return fail('saml_malformed_xml', 'The XML contains a NUL character reference (&#0;), which XML does not allow.');
}
