/**
 * The tree {@link parseXml} builds: a small DOM (Level 2 Core names and shapes) holding exactly what
 * the SAML code reads, nothing computed lazily and no bookkeeping per node, so that building it costs
 * a few allocations per node (bench/README.md, "Where the time goes").
 *
 * src reads it through the read-only interfaces below, which name only what it uses: `nodeType`,
 * `nodeName`, `parentNode`, `firstChild`/`lastChild`, `previousSibling`/`nextSibling`; `nodeValue` on
 * text, CDATA sections, comments and processing instructions; on elements `ownerDocument`,
 * `namespaceURI`, `prefix` (null when none), `localName`, `attributes` (an array), `getAttribute`,
 * `hasAttribute`, `getAttributeNS`; on attributes `name`, `prefix`, `localName`, `namespaceURI`,
 * `value`; `documentElement` on the document. Namespace declarations stay attributes in the xmlns
 * namespace, as in xmldom, because the canonicalizer (c14n.ts) reads them as such.
 *
 * The classes (`XmlTree…`) implement them and are shaped like @xmldom/xmldom's tree for a little
 * more (`tagName`, `attributes.item`, `getAttributeNode`, `ownerElement`, `data`, `target`, …) for the
 * tests, which edit a parse or hand it to xml-crypto and xmldom's XMLSerializer; only they use the
 * few mutators (`appendChild`, `removeChild`, `setAttributeNS`, `createElement`, `createTextNode`),
 * `childNodes`, `getElementsByTagNameNS`, `textContent` and `lookupPrefix`. The verifier itself never
 * changes a tree.
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

/** A node's kind, name and place in the tree: what the SAML code reads of every node. */
export interface XmlNode {
  readonly nodeType: number;
  readonly nodeName: string;
  readonly parentNode: XmlParent | null;
  readonly firstChild: XmlChild | null;
  readonly lastChild: XmlChild | null;
  readonly previousSibling: XmlChild | null;
  readonly nextSibling: XmlChild | null;
}

/** The document node: the root element and what surrounds it (XML declaration, comments, PIs, white space). */
export interface XmlDocument extends XmlNode {
  readonly nodeType: typeof DOCUMENT_NODE;
  readonly documentElement: XmlElement | null;
}

export interface XmlElement extends XmlNode {
  readonly nodeType: typeof ELEMENT_NODE;
  readonly ownerDocument: XmlDocument;
  readonly namespaceURI: string | null;
  readonly prefix: string | null;
  readonly localName: string;
  readonly attributes: readonly XmlAttr[];
  getAttribute(name: string): string | null;
  hasAttribute(name: string): boolean;
  getAttributeNS(namespaceURI: string | null, localName: string): string | null;
}

/** Text, a CDATA section, a comment or a processing instruction (whose `nodeName` is its target). */
export interface XmlCharacterData extends XmlNode {
  readonly nodeType: typeof TEXT_NODE | typeof CDATA_SECTION_NODE | typeof COMMENT_NODE | typeof PROCESSING_INSTRUCTION_NODE;
  readonly nodeValue: string;
}

/** An attribute, namespace declarations included; never a child of any node, so not an {@link XmlNode} here. */
export interface XmlAttr {
  readonly name: string;
  readonly namespaceURI: string | null;
  readonly prefix: string | null;
  readonly localName: string;
  readonly value: string;
}

/** What an element or the document may contain; `nodeType` tells the two apart. */
export type XmlChild = XmlElement | XmlCharacterData;
/** What a node may be a child of. */
export type XmlParent = XmlElement | XmlDocument;

export type XmlTreeChild = XmlTreeElement | XmlTreeCharacterData;
type XmlTreeParent = XmlTreeElement | XmlTreeDocument;

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
  parentNode: XmlTreeParent | null = null;
  previousSibling: XmlTreeChild | null = null;
  nextSibling: XmlTreeChild | null = null;
  firstChild: XmlTreeChild | null = null;
  lastChild: XmlTreeChild | null = null;

  /** A new array on each read (DOM's live NodeList is not needed: nothing holds on to one). */
  get childNodes(): XmlList<XmlTreeChild> {
    const out: XmlTreeChild[] = [];
    for (let child = this.firstChild; child !== null; child = child.nextSibling) out.push(child);
    return listOf(out);
  }

  hasChildNodes(): boolean {
    return this.firstChild !== null;
  }

  appendChild<T extends XmlTreeChild>(child: T): T {
    if (child.parentNode !== null) child.parentNode.removeChild(child);
    child.parentNode = this as unknown as XmlTreeParent;
    child.previousSibling = this.lastChild;
    if (this.lastChild === null) this.firstChild = child;
    else this.lastChild.nextSibling = child;
    this.lastChild = child;
    return child;
  }

  removeChild<T extends XmlTreeChild>(child: T): T {
    if (child.parentNode !== (this as unknown)) throw new Error('The node to remove is not a child of this node.');
    if (child.previousSibling === null) this.firstChild = child.nextSibling;
    else child.previousSibling.nextSibling = child.nextSibling;
    if (child.nextSibling === null) this.lastChild = child.previousSibling;
    else child.nextSibling.previousSibling = child.previousSibling;
    child.parentNode = child.previousSibling = child.nextSibling = null;
    return child;
  }

  /** The elements below this node (not itself) with this qualified name, `*` matching any, in document order. */
  getElementsByTagName(qualifiedName: string): XmlList<XmlTreeElement> {
    return this.elementsBelow((element) => qualifiedName === '*' || element.nodeName === qualifiedName);
  }

  /** The elements below this node (not itself) with this namespace and local name, `*` matching any. */
  getElementsByTagNameNS(namespaceURI: string | null, localName: string): XmlList<XmlTreeElement> {
    const ns = namespaceURI === '' ? null : namespaceURI;
    return this.elementsBelow(
      (element) => (ns === '*' || element.namespaceURI === ns) && (localName === '*' || element.localName === localName),
    );
  }

  private elementsBelow(matches: (element: XmlTreeElement) => boolean): XmlList<XmlTreeElement> {
    const out: XmlTreeElement[] = [];
    const stack: XmlTreeChild[] = [];
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
    for (let node: XmlTreeParent | null = this as unknown as XmlTreeParent; node !== null; node = node.parentNode) {
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
export class XmlTreeDocument extends XmlTreeNode implements XmlDocument {
  readonly nodeType = DOCUMENT_NODE;
  readonly nodeName = '#document';
  /** xmldom's XMLSerializer reads this to tell XML from HTML. */
  readonly type = 'xml';
  readonly ownerDocument = null;
  readonly namespaceURI = null;
  readonly prefix = null;
  readonly localName = null;
  readonly nodeValue = null;
  documentElement: XmlTreeElement | null = null;

  override appendChild<T extends XmlTreeChild>(child: T): T {
    super.appendChild(child);
    if (child.nodeType === ELEMENT_NODE && this.documentElement === null) this.documentElement = child;
    return child;
  }

  override removeChild<T extends XmlTreeChild>(child: T): T {
    super.removeChild(child);
    if (child === this.documentElement) this.documentElement = null;
    return child;
  }

  /** An element in no namespace. */
  createElement(tagName: string): XmlTreeElement {
    return new XmlTreeElement(this, tagName, null, null, tagName, listOf([]));
  }

  createTextNode(data: string): XmlTreeCharacterData {
    return new XmlTreeCharacterData(this, TEXT_NODE, '#text', data);
  }
}

export class XmlTreeAttr implements XmlAttr {
  readonly nodeType = ATTRIBUTE_NODE;
  readonly specified = true;
  readonly parentNode = null;
  constructor(
    readonly ownerElement: XmlTreeElement,
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

  get ownerDocument(): XmlTreeDocument {
    return this.ownerElement.ownerDocument;
  }
}

export class XmlTreeElement extends XmlTreeNode implements XmlElement {
  readonly nodeType = ELEMENT_NODE;
  readonly nodeValue = null;
  constructor(
    readonly ownerDocument: XmlTreeDocument,
    readonly nodeName: string,
    readonly namespaceURI: string | null,
    readonly prefix: string | null,
    readonly localName: string,
    readonly attributes: XmlList<XmlTreeAttr>,
  ) {
    super();
  }

  get tagName(): string {
    return this.nodeName;
  }

  getAttributeNode(name: string): XmlTreeAttr | null {
    for (const attribute of this.attributes) if (attribute.name === name) return attribute;
    return null;
  }

  getAttributeNodeNS(namespaceURI: string | null, localName: string): XmlTreeAttr | null {
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
    const attribute = new XmlTreeAttr(this, qualifiedName, ns, prefix, localName, value);
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
export class XmlTreeCharacterData extends XmlTreeNode implements XmlCharacterData {
  readonly namespaceURI = null;
  readonly prefix = null;
  readonly localName = null;
  readonly attributes = null;
  readonly nodeValue: string;
  readonly target: string | null;
  constructor(
    readonly ownerDocument: XmlTreeDocument,
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
