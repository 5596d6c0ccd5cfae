/**
 * The tree {@link parseXml} builds: a small DOM (Level 2 Core names and shapes) holding exactly what
 * the SAML code reads, nothing computed lazily and no bookkeeping per node, so that building it costs
 * a few allocations per node (bench/README.md, "Where the time goes").
 *
 * It is shaped like @xmldom/xmldom's tree for the members Lanyard uses: `nodeType`, `nodeName`,
 * `parentNode`, `firstChild`/`lastChild`, `previousSibling`/`nextSibling`, `ownerDocument`; on elements
 * `namespaceURI`, `prefix` (null when none), `localName`, `tagName`, `attributes` (indexable, with
 * `item`), `getAttribute`, `hasAttribute`, `getAttributeNS`, `getAttributeNode`; on attributes `name`,
 * `prefix`, `localName`, `namespaceURI`, `value`, `nodeValue`, `ownerElement`; `data`/`nodeValue` on text,
 * CDATA sections and comments, `target`/`data` on processing instructions, `documentElement` on the
 * document. Namespace declarations stay attributes in the xmlns namespace, as in xmldom, because the
 * canonicalizer (c14n.ts) reads them as such. The few mutators (`appendChild`, `removeChild`,
 * `setAttributeNS`, `createElement`, `createTextNode`), `childNodes`, `getElementsByTagNameNS`,
 * `textContent` and `lookupPrefix` exist for the tests, which edit a parse or hand it to xml-crypto and
 * xmldom's XMLSerializer; the verifier itself never changes a tree.
 */

export const ELEMENT_NODE = 1;
export const ATTRIBUTE_NODE = 2;
export const TEXT_NODE = 3;
export const CDATA_SECTION_NODE = 4;
export const PROCESSING_INSTRUCTION_NODE = 7;
export const COMMENT_NODE = 8;
export const DOCUMENT_NODE = 9;

export const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';
export const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/';

export type XmlChild = XmlElement | XmlCharacterData;
type XmlParent = XmlElement | XmlDocument;

/** A list as DOM exposes it: indexable, `length`, and `item(i)` (null out of range). */
export type XmlList<T> = T[] & { item(index: number): T | null };

function itemOf<T>(this: T[], index: number): T | null {
  return this[index] ?? null;
}

export function listOf<T>(items: T[]): XmlList<T> {
  const list = items as XmlList<T>;
  list.item = itemOf;
  return list;
}

/** Children, siblings and parent: the part every node kind shares. */
abstract class XmlTreeNode {
  parentNode: XmlParent | null = null;
  previousSibling: XmlChild | null = null;
  nextSibling: XmlChild | null = null;
  firstChild: XmlChild | null = null;
  lastChild: XmlChild | null = null;

  /** A new array on each read (DOM's live NodeList is not needed: nothing holds on to one). */
  get childNodes(): XmlList<XmlChild> {
    const out: XmlChild[] = [];
    for (let child = this.firstChild; child !== null; child = child.nextSibling) out.push(child);
    return listOf(out);
  }

  hasChildNodes(): boolean {
    return this.firstChild !== null;
  }

  appendChild<T extends XmlChild>(child: T): T {
    if (child.parentNode !== null) child.parentNode.removeChild(child);
    child.parentNode = this as unknown as XmlParent;
    child.previousSibling = this.lastChild;
    if (this.lastChild === null) this.firstChild = child;
    else this.lastChild.nextSibling = child;
    this.lastChild = child;
    return child;
  }

  removeChild<T extends XmlChild>(child: T): T {
    if (child.parentNode !== (this as unknown)) throw new Error('The node to remove is not a child of this node.');
    if (child.previousSibling === null) this.firstChild = child.nextSibling;
    else child.previousSibling.nextSibling = child.nextSibling;
    if (child.nextSibling === null) this.lastChild = child.previousSibling;
    else child.nextSibling.previousSibling = child.previousSibling;
    child.parentNode = child.previousSibling = child.nextSibling = null;
    return child;
  }

  /** The elements below this node (not itself) with this qualified name, `*` matching any, in document order. */
  getElementsByTagName(qualifiedName: string): XmlList<XmlElement> {
    return this.elementsBelow((element) => qualifiedName === '*' || element.nodeName === qualifiedName);
  }

  /** The elements below this node (not itself) with this namespace and local name, `*` matching any. */
  getElementsByTagNameNS(namespaceURI: string | null, localName: string): XmlList<XmlElement> {
    const ns = namespaceURI === '' ? null : namespaceURI;
    return this.elementsBelow(
      (element) => (ns === '*' || element.namespaceURI === ns) && (localName === '*' || element.localName === localName),
    );
  }

  private elementsBelow(matches: (element: XmlElement) => boolean): XmlList<XmlElement> {
    const out: XmlElement[] = [];
    const stack: XmlChild[] = [];
    for (let child = this.lastChild; child !== null; child = child.previousSibling) stack.push(child);
    for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
      if (node.nodeType !== ELEMENT_NODE) continue;
      if (matches(node)) out.push(node);
      for (let child = node.lastChild; child !== null; child = child.previousSibling) stack.push(child);
    }
    return listOf(out);
  }

  /**
   * DOM `lookupPrefix` as xmldom answers it (XMLSerializer calls it): the first prefix, the default
   * namespace's "" included, that this element or an ancestor declares for `namespaceURI`.
   */
  lookupPrefix(namespaceURI: string | null): string | null {
    for (let node: XmlParent | null = this as unknown as XmlParent; node !== null; node = node.parentNode) {
      if (node.nodeType !== ELEMENT_NODE) continue;
      for (const attribute of node.attributes) {
        if (attribute.namespaceURI === XMLNS_NAMESPACE && attribute.value === namespaceURI) {
          return attribute.prefix === null ? '' : attribute.localName;
        }
      }
    }
    return null;
  }
}

/** The document node: the root element and what surrounds it (XML declaration, comments, PIs, white space). */
export class XmlDocument extends XmlTreeNode {
  readonly nodeType = DOCUMENT_NODE;
  readonly nodeName = '#document';
  /** xmldom's XMLSerializer reads this to tell XML from HTML. */
  readonly type = 'xml';
  readonly ownerDocument = null;
  readonly namespaceURI = null;
  readonly prefix = null;
  readonly localName = null;
  readonly nodeValue = null;
  documentElement: XmlElement | null = null;

  override appendChild<T extends XmlChild>(child: T): T {
    super.appendChild(child);
    if (child.nodeType === ELEMENT_NODE && this.documentElement === null) this.documentElement = child;
    return child;
  }

  override removeChild<T extends XmlChild>(child: T): T {
    super.removeChild(child);
    if (child === this.documentElement) this.documentElement = null;
    return child;
  }

  /** An element in no namespace. */
  createElement(tagName: string): XmlElement {
    return new XmlElement(this, tagName, null, null, tagName, listOf([]));
  }

  createTextNode(data: string): XmlCharacterData {
    return new XmlCharacterData(this, TEXT_NODE, '#text', data);
  }
}

export class XmlAttr {
  readonly nodeType = ATTRIBUTE_NODE;
  readonly specified = true;
  readonly parentNode = null;
  constructor(
    readonly ownerElement: XmlElement,
    readonly name: string,
    readonly namespaceURI: string | null,
    readonly prefix: string | null,
    readonly localName: string,
    public value: string,
  ) {}

  get nodeName(): string {
    return this.name;
  }

  get nodeValue(): string {
    return this.value;
  }

  get ownerDocument(): XmlDocument {
    return this.ownerElement.ownerDocument;
  }
}

export class XmlElement extends XmlTreeNode {
  readonly nodeType = ELEMENT_NODE;
  readonly nodeValue = null;
  constructor(
    readonly ownerDocument: XmlDocument,
    readonly nodeName: string,
    readonly namespaceURI: string | null,
    readonly prefix: string | null,
    readonly localName: string,
    readonly attributes: XmlList<XmlAttr>,
  ) {
    super();
  }

  get tagName(): string {
    return this.nodeName;
  }

  getAttributeNode(name: string): XmlAttr | null {
    for (const attribute of this.attributes) if (attribute.name === name) return attribute;
    return null;
  }

  getAttributeNodeNS(namespaceURI: string | null, localName: string): XmlAttr | null {
    const ns = namespaceURI === '' ? null : namespaceURI;
    for (const attribute of this.attributes) if (attribute.namespaceURI === ns && attribute.localName === localName) return attribute;
    return null;
  }

  getAttribute(name: string): string | null {
    return this.getAttributeNode(name)?.value ?? null;
  }

  hasAttribute(name: string): boolean {
    return this.getAttributeNode(name) !== null;
  }

  getAttributeNS(namespaceURI: string | null, localName: string): string | null {
    return this.getAttributeNodeNS(namespaceURI, localName)?.value ?? null;
  }

  hasAttributeNS(namespaceURI: string | null, localName: string): boolean {
    return this.getAttributeNodeNS(namespaceURI, localName) !== null;
  }

  /** Replaces the attribute with this namespace and local name, or appends one (xml-crypto writes PrefixList declarations). */
  setAttributeNS(namespaceURI: string | null, qualifiedName: string, value: string): void {
    const colon = qualifiedName.indexOf(':');
    const prefix = colon < 0 ? null : qualifiedName.slice(0, colon);
    const localName = colon < 0 ? qualifiedName : qualifiedName.slice(colon + 1);
    const ns = namespaceURI === '' ? null : namespaceURI;
    const attribute = new XmlAttr(this, qualifiedName, ns, prefix, localName, value);
    const attributes = this.attributes;
    const existing = attributes.findIndex((other) => other.namespaceURI === ns && other.localName === localName);
    if (existing < 0) attributes.push(attribute);
    else attributes[existing] = attribute;
  }

  /** Text and CDATA below this element, concatenated (comments and processing instructions have none). */
  get textContent(): string {
    let out = '';
    for (let child = this.firstChild; child !== null; child = child.nextSibling) {
      if (child.nodeType === ELEMENT_NODE) out += child.textContent;
      else if (child.nodeType === TEXT_NODE || child.nodeType === CDATA_SECTION_NODE) out += child.data;
    }
    return out;
  }
}

/**
 * Text, CDATA sections, comments and processing instructions: one class, so that the canonicalizer's
 * loop over an element's children sees two shapes only. `target` is a processing instruction's.
 */
export class XmlCharacterData extends XmlTreeNode {
  readonly namespaceURI = null;
  readonly prefix = null;
  readonly localName = null;
  readonly attributes = null;
  readonly nodeValue: string;
  readonly target: string | null;
  constructor(
    readonly ownerDocument: XmlDocument,
    readonly nodeType: typeof TEXT_NODE | typeof CDATA_SECTION_NODE | typeof COMMENT_NODE | typeof PROCESSING_INSTRUCTION_NODE,
    readonly nodeName: string,
    readonly data: string,
  ) {
    super();
    this.nodeValue = data;
    this.target = nodeType === PROCESSING_INSTRUCTION_NODE ? nodeName : null;
  }

  get length(): number {
    return this.data.length;
  }

  get textContent(): string {
    return this.data;
  }
}
