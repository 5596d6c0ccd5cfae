/**
 * A strict, non-validating XML 1.0 (Fifth Edition) + Namespaces in XML 1.0 parser for the documents
 * an identity provider sends: elements, attributes, text, CDATA sections, comments, processing
 * instructions and an XML declaration. No DTD of any kind (xml.ts refuses one before this runs), so
 * the only entity references are the five predefined ones (XML 1.0 §4.6) and character references.
 *
 * It replaced @xmldom/xmldom in `parseXml` (issue 19), which spent most of a verification checking one
 * character at a time in JavaScript (bench/README.md, "Where the time goes"). Here each token is one
 * native (sticky) regular-expression match or `indexOf` over a run of text, and every character of
 * the document is checked once, up front, against the XML Char production. Anything that is not
 * well-formed or not namespace-well-formed is refused, never repaired; where xmldom was more
 * lenient than the specifications (it accepted `a & b`, `]]>` in text, control characters, duplicate
 * expanded attribute names, undeclaring a prefix) this parser refuses, and
 * test/saml/xml-parser-differential.test.ts lists each such case. Where xmldom deviates from XML 1.0
 * in what it builds (it also turns U+0085, U+2028 and U+2029 into line feeds, XML 1.1 §2.11, and
 * refuses U+FFFD), this parser does the same, so that a document means what it meant before.
 *
 * ARCHITECTURE.md habit 16 says to use a conformant XML parser, not our own. This module is held
 * to the terms of that habit's exception for protocol pieces we own for speed, as the canonicalizer
 * is: the differential test above compares it with xmldom (same trees) and expat (same verdicts)
 * over the corpus and thousands of mutations, in CI, and test/saml/xml-parser.test.ts fails for
 * each of its rules removed.
 */
import { attributeValue, checkedCharacters, decodeReferences, fail } from './xml-characters.ts';
import { createScope, declareNamespaces, leaveScope, refuseDuplicateExpandedNames, resolve, type Scope } from './xml-namespaces.ts';
import {
  CDATA_SECTION_NODE,
  COMMENT_NODE,
  PROCESSING_INSTRUCTION_NODE,
  TEXT_NODE,
  XMLNS_NAMESPACE,
  XmlTreeAttr,
  XmlTreeCharacterData,
  XmlTreeDocument,
  XmlTreeElement,
  listOf,
  type XmlTreeChild,
} from './xml-tree.ts';

export { XmlSyntaxError } from './xml-characters.ts';

/** XML 1.0 §2.3 [4] NameStartChar without ":" (Namespaces 1.0 [4] NCName), and [4a] NameChar likewise. */
const NC_START =
  'A-Z_a-z\\xC0-\\xD6\\xD8-\\xF6\\xF8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}';
const NC_CHAR = `${NC_START}\\-.0-9\\xB7\\u0300-\\u036F\\u203F\\u2040`;
const NCNAME = `[${NC_START}][${NC_CHAR}]*`;
/** Namespaces 1.0 [7] QName. */
const QNAME = `${NCNAME}(?::${NCNAME})?`;
// The ranges are XML's, matched one code point at a time (the `u` flag): no grapheme is meant.
/* eslint-disable no-misleading-character-class */
const QNAME_Y = new RegExp(QNAME, 'uy');
const NCNAME_Y = new RegExp(NCNAME, 'uy');
/** XML 1.0 [41] Attribute, preceded by the white space [40] STag requires; [10] AttValue has no "<". */
const ATTRIBUTE_Y = new RegExp(`[ \\t\\r\\n]+(${QNAME})[ \\t\\r\\n]*=[ \\t\\r\\n]*(?:"([^<"]*)"|'([^<']*)')`, 'uy');
/* eslint-enable no-misleading-character-class */
/**
 * The same for names in ASCII, without the `u` flag (several times faster): tried first, and only
 * trusted when the name does not go on in a colon or a non-ASCII character (nameEndAt) or when what follows
 * the name could not be a name character (ASCII_ATTRIBUTE_Y needs "=" or white space there).
 */
const ASCII_NCNAME = '[A-Z_a-z][-.0-9A-Z_a-z]*';
const ASCII_QNAME_Y = new RegExp(`${ASCII_NCNAME}(?::${ASCII_NCNAME})?`, 'y');
const ASCII_ATTRIBUTE_Y = new RegExp(
  `[ \\t\\r\\n]+(${ASCII_NCNAME}(?::${ASCII_NCNAME})?)[ \\t\\r\\n]*=[ \\t\\r\\n]*(?:"([^<"]*)"|'([^<']*)')`,
  'y',
);
/** The end of a start tag ([40] STag) or of an empty-element tag ([44] EmptyElemTag). */
const TAG_END_Y = /[ \t\r\n]*(\/?)>/y;
const SPACE_Y = /[ \t\r\n]*/y;
const ALL_SPACE = /^[ \t\r\n]*$/;
/** XML 1.0 [23] XMLDecl, with xmldom's reading of [26] VersionNum ("1." and digits). */
const XML_DECLARATION_Y =
  /<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:'1\.[0-9]+'|"1\.[0-9]+")(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?:"[A-Za-z][-A-Za-z0-9._]*"|'[A-Za-z][-A-Za-z0-9._]*'))?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(?:'(?:yes|no)'|"(?:yes|no)"))?[ \t\r\n]*\?>/y;

const LT = 0x3c;
const BANG = 0x21;
const QUESTION = 0x3f;
const SLASH = 0x2f;
const GT = 0x3e;

/**
 * The start tag being read: its attributes before their namespaces are known, where it ends. One
 * set of module-level scratch values (a parse is synchronous), so that reading a tag allocates
 * nothing but its nodes.
 */
const tag = { names: [] as string[], values: [] as string[], count: 0, after: 0, empty: false };

/**
 * Parses `source` (no byte order mark, no DOCTYPE: parseXml removes and refuses them) into a
 * document with exactly one root element, or throws {@link XmlSyntaxError}.
 */
export function parseXmlTree(source: string): { document: XmlTreeDocument; root: XmlTreeElement } {
  try {
    return parseDocument(source);
  } finally {
    // The scratch lists hold slices of `source`, which would keep all of it alive until the next parse.
    tag.names.length = 0;
    tag.values.length = 0;
  }
}

function parseDocument(source: string): { document: XmlTreeDocument; root: XmlTreeElement } {
  const text = checkedCharacters(source);
  const document = new XmlTreeDocument();
  const scope = createScope();
  const marks: number[] = [];
  let parent: XmlTreeElement | XmlTreeDocument = document;
  let at = 0;
  const end = text.length;
  while (at < end) {
    if (text.charCodeAt(at) !== LT) {
      let next = text.indexOf('<', at);
      if (next < 0) next = end;
      if (parent === document) {
        if (!ALL_SPACE.test(text.slice(at, next))) fail('it has text outside the root element');
        // xmldom's shape: white space between top-level nodes is a text node; after the last one, nothing.
        if (next < end) append(document, new XmlTreeCharacterData(document, TEXT_NODE, '#text', text.slice(at, next)));
      } else {
        const data = text.slice(at, next);
        // XML 1.0 §2.4: "]]>" never appears in character data.
        if (data.includes(']]>')) fail('its text contains "]]>" (XML 1.0 §2.4)');
        append(parent, new XmlTreeCharacterData(document, TEXT_NODE, '#text', data.includes('&') ? decodeReferences(data) : data));
      }
      at = next;
      continue;
    }
    const c = text.charCodeAt(at + 1);
    if (c === SLASH) {
      if (parent === document) fail('it has an end tag without a start tag');
      const name: string = parent.nodeName;
      if (!text.startsWith(name, at + 2)) fail(`the end tag at ${at} does not match <${name}>`);
      TAG_END_Y.lastIndex = at + 2 + name.length;
      const close = TAG_END_Y.exec(text);
      if (close === null || close[1] !== '') fail(`the end tag at ${at} does not match <${name}>`);
      leaveScope(scope, marks.pop() ?? 0);
      parent = parent.parentNode ?? document;
      at = TAG_END_Y.lastIndex;
    } else if (c === BANG) {
      at = parseBang(text, at, document, parent);
    } else if (c === QUESTION) {
      at = parseProcessingInstruction(text, at, document, parent);
    } else {
      if (parent === document && document.documentElement !== null) fail('it has more than one root element');
      const mark = scope.undoPrefixes.length;
      const element = parseStartTag(text, at, document, scope);
      append(parent, element);
      if (parent === document) document.documentElement = element;
      at = tag.after;
      if (tag.empty) leaveScope(scope, mark);
      else {
        marks.push(mark);
        parent = element;
      }
    }
  }
  if (parent !== document) fail(`the element <${parent.nodeName}> is not closed`);
  const root = document.documentElement;
  if (root === null) fail('it has no root element');
  return { document, root };
}

function append(parent: XmlTreeElement | XmlTreeDocument, child: XmlTreeChild): void {
  child.parentNode = parent;
  const last = parent.lastChild;
  if (last === null) parent.firstChild = child;
  else {
    last.nextSibling = child;
    child.previousSibling = last;
  }
  parent.lastChild = child;
}

/** Comments (anywhere) and CDATA sections (in content only); any other `<!` (a DOCTYPE) is refused. */
function parseBang(text: string, at: number, document: XmlTreeDocument, parent: XmlTreeElement | XmlTreeDocument): number {
  if (text.startsWith('<!--', at)) {
    // XML 1.0 [15]: "--" never occurs inside a comment, so the first one must end it.
    const dashes = text.indexOf('--', at + 4);
    if (dashes < 0 || text.charCodeAt(dashes + 2) !== GT) fail(`the comment at ${at} is not well-formed`);
    append(parent, new XmlTreeCharacterData(document, COMMENT_NODE, '#comment', text.slice(at + 4, dashes)));
    return dashes + 3;
  }
  if (text.startsWith('<![CDATA[', at)) {
    if (parent === document) fail('it has a CDATA section outside the root element');
    const close = text.indexOf(']]>', at + 9);
    if (close < 0) fail(`the CDATA section at ${at} is not closed`);
    // An empty section adds no node (as with xmldom); it has no characters to add.
    if (close > at + 9) append(parent, new XmlTreeCharacterData(document, CDATA_SECTION_NODE, '#cdata-section', text.slice(at + 9, close)));
    return close + 3;
  }
  return fail(`the markup at ${at} is not well-formed`);
}

/**
 * XML 1.0 [16] PI; the target is an NCName (Namespaces 1.0 §7) other than "xml" in any case
 * ([17] PITarget), except for the XML declaration ([23] XMLDecl), which only the document's first
 * characters may be. xmldom's shape: the declaration is a processing instruction named "xml".
 */
function parseProcessingInstruction(text: string, at: number, document: XmlTreeDocument, parent: XmlTreeElement | XmlTreeDocument): number {
  NCNAME_Y.lastIndex = at + 2;
  if (!NCNAME_Y.test(text)) fail(`the processing instruction at ${at} has no valid target`);
  const targetEnd = NCNAME_Y.lastIndex;
  const target = text.slice(at + 2, targetEnd);
  if (target.toLowerCase() === 'xml') {
    XML_DECLARATION_Y.lastIndex = 0;
    if (at !== 0 || target !== 'xml' || !XML_DECLARATION_Y.test(text)) fail(`the XML declaration at ${at} is misplaced or not well-formed`);
  }
  let dataStart = targetEnd;
  if (!text.startsWith('?>', targetEnd)) {
    SPACE_Y.lastIndex = targetEnd;
    SPACE_Y.test(text);
    dataStart = SPACE_Y.lastIndex;
    if (dataStart === targetEnd) fail(`the processing instruction at ${at} needs white space after its target`);
  }
  const close = text.indexOf('?>', dataStart);
  if (close < 0) fail(`the processing instruction at ${at} is not closed`);
  append(parent, new XmlTreeCharacterData(document, PROCESSING_INSTRUCTION_NODE, target, text.slice(dataStart, close)));
  return close + 2;
}

/** XML 1.0 [40] STag / [44] EmptyElemTag, then the element's namespaces (Namespaces 1.0 §5, §6); the end is left in `tag`. */
function parseStartTag(text: string, at: number, document: XmlTreeDocument, scope: Scope): XmlTreeElement {
  const nameEnd = nameEndAt(text, at + 1);
  if (nameEnd < 0) fail(`the tag at ${at} has no valid name`);
  const qualifiedName = text.slice(at + 1, nameEnd);
  const { names, values } = tag;
  let count = 0;
  let cursor = nameEnd;
  for (;;) {
    ASCII_ATTRIBUTE_Y.lastIndex = cursor;
    let match = ASCII_ATTRIBUTE_Y.exec(text);
    if (match !== null) cursor = ASCII_ATTRIBUTE_Y.lastIndex;
    else {
      ATTRIBUTE_Y.lastIndex = cursor;
      match = ATTRIBUTE_Y.exec(text);
      if (match === null) break;
      cursor = ATTRIBUTE_Y.lastIndex;
    }
    names[count] = match[1] ?? '';
    values[count++] = attributeValue(match[2] ?? match[3] ?? '');
  }
  tag.count = count;
  TAG_END_Y.lastIndex = cursor;
  const close = TAG_END_Y.exec(text);
  if (close === null) fail(`the start tag <${qualifiedName}> at ${at} is not well-formed`);
  tag.after = TAG_END_Y.lastIndex;
  tag.empty = close[1] === '/';
  if (count > 1) refuseDuplicateNames(qualifiedName);
  declareNamespaces(scope, names, values, count);
  const colon = qualifiedName.indexOf(':');
  const prefix = colon < 0 ? null : qualifiedName.slice(0, colon);
  const namespaceURI = resolve(scope, prefix, qualifiedName);
  const attributes: XmlTreeAttr[] = [];
  const localName = colon < 0 ? qualifiedName : qualifiedName.slice(colon + 1);
  const element = new XmlTreeElement(document, qualifiedName, namespaceURI, prefix, localName, listOf(attributes));
  let prefixed = 0;
  for (let i = 0; i < count; i++) {
    const name = names[i] ?? '';
    const value = values[i] ?? '';
    const split = name.indexOf(':');
    if (split < 0) {
      attributes.push(new XmlTreeAttr(element, name, name === 'xmlns' ? XMLNS_NAMESPACE : null, null, name, value));
      continue;
    }
    const attributePrefix = name.slice(0, split);
    // Namespaces 1.0 §6.3: a prefixed attribute is in its prefix's namespace; an unprefixed one in none.
    const uri = attributePrefix === 'xmlns' ? XMLNS_NAMESPACE : resolve(scope, attributePrefix, name);
    if (attributePrefix !== 'xmlns') prefixed++;
    attributes.push(new XmlTreeAttr(element, name, uri, attributePrefix, name.slice(split + 1), value));
  }
  if (prefixed > 1) refuseDuplicateExpandedNames(attributes, qualifiedName);
  return element;
}

/** Where the QName at `from` ends, or -1 when none starts there. */
function nameEndAt(text: string, from: number): number {
  ASCII_QNAME_Y.lastIndex = from;
  if (ASCII_QNAME_Y.test(text)) {
    // Greedy, so an ASCII name character cannot follow; a colon (as in `p:é`) or a non-ASCII one can.
    const next = text.charCodeAt(ASCII_QNAME_Y.lastIndex);
    if (next < 0x80 && next !== 0x3a) return ASCII_QNAME_Y.lastIndex;
  }
  QNAME_Y.lastIndex = from;
  return QNAME_Y.test(text) ? QNAME_Y.lastIndex : -1;
}

/** XML 1.0 §3.1 WFC: Unique Att Spec. */
function refuseDuplicateNames(element: string): void {
  const { names, count } = tag;
  if (count > 16) {
    if (new Set(names.slice(0, count)).size !== count) fail(`<${element}> has an attribute twice`);
    return;
  }
  for (let i = 1; i < count; i++) {
    for (let j = 0; j < i; j++) if (names[i] === names[j]) fail(`<${element}> has an attribute twice`);
  }
}
