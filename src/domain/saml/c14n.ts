/**
 * Canonical XML 1.0 (https://www.w3.org/TR/2001/REC-xml-c14n-20010315) and Exclusive XML
 * Canonicalization 1.0 (https://www.w3.org/TR/2002/REC-xml-exc-c14n-20020718/), with or without
 * comments, over a parsed tree (xml-tree.ts, the DOM subset xmldom also gives), for the one kind of document subset an XML-DSig same-document
 * Reference or a SignedInfo produces: an element (the apex), all its descendants, and optionally
 * minus one child subtree (the enveloped signature, XML-DSig 1.1 §6.6.4).
 *
 * Pure: reads the tree, never changes it, and builds the output in one string.
 */
import { compareCodePoints, escapeAttribute, escapeText } from './c14n-characters.ts';
import type { XmlAttr, XmlElement, XmlNode, XmlParent } from './xml-tree.ts';

/** What to canonicalize besides the apex. */
export interface C14nSubset {
  /** Exclusive XML Canonicalization instead of Canonical XML. */
  readonly exclusive: boolean;
  /** Render comment nodes (the #WithComments variants). */
  readonly withComments: boolean;
  /** A direct child of the apex left out with its whole subtree, or undefined. */
  readonly omit: XmlElement | undefined;
  /** Exclusive only: the InclusiveNamespaces PrefixList, with "#default" already mapped to "". */
  readonly inclusivePrefixes: readonly string[];
}

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const CDATA_SECTION_NODE = 4;
const PROCESSING_INSTRUCTION_NODE = 7;
const COMMENT_NODE = 8;
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

/**
 * The walk's state. The first `rendered` entries of `prefixes`/`uris` are a stack of the namespace
 * declarations rendered by the output ancestors of the element being rendered, nearest last: C14N
 * 1.0 §2.3 and exc-c14n §3 both decide whether to emit a declaration by comparing it with what the
 * nearest output ancestor has. Once the stack outgrows a scan, `nearest` indexes it by prefix
 * (`shadows` remembering what each entry hides): thousands of declarations cost linear time.
 * The pending lists and `attributes` are scratch space for the element being rendered (their first
 * `pending`/`attributeCount` entries are live), reused so that a walk allocates almost nothing per
 * node; counts instead of array lengths, as setting a length is slow.
 */
interface Walk {
  out: string;
  readonly exclusive: boolean;
  readonly withComments: boolean;
  readonly omit: XmlNode | undefined;
  readonly listed: ReadonlySet<string>;
  readonly prefixes: string[];
  readonly uris: string[];
  readonly shadows: number[];
  nearest: Map<string, number> | undefined;
  rendered: number;
  readonly pendingPrefixes: string[];
  readonly pendingUris: string[];
  pending: number;
  readonly attributes: XmlAttr[];
  attributeCount: number;
}

/** Above this many, sorting switches from insertion sort to Array.sort, and lookups from a scan to a Map. */
const FEW = 16;
const NONE: ReadonlySet<string> = new Set();

/** The canonical form of `apex`'s subtree, as a string to be UTF-8 encoded (C14N 1.0 §1). */
export function canonicalizeSubset(apex: XmlElement, subset: C14nSubset): string {
  const walk: Walk = {
    out: '',
    exclusive: subset.exclusive,
    withComments: subset.withComments,
    omit: subset.omit,
    listed: subset.exclusive && subset.inclusivePrefixes.length > 0 ? new Set(subset.inclusivePrefixes) : NONE,
    prefixes: [],
    uris: [],
    shadows: [],
    nearest: undefined,
    rendered: 0,
    pendingPrefixes: [],
    pendingUris: [],
    pending: 0,
    attributes: [],
    attributeCount: 0,
  };
  renderElement(walk, apex, true);
  return walk.out;
}

/**
 * Renders an element: start tag with its namespace declarations and attributes, content, end tag
 * (an empty element too, C14N 1.0 §1). Recursive; depth is bounded because every verified document
 * went through the index pass (structure.ts MAX_ELEMENT_DEPTH) first, and the caller turns a stack
 * overflow into a refusal anyway.
 */
function renderElement(walk: Walk, element: XmlElement, isApex: boolean): void {
  const mark = walk.rendered;
  walk.out += `<${element.nodeName}`;
  renderNamespaces(walk, element, isApex);
  renderAttributes(walk, element, isApex);
  walk.out += '>';
  for (let child = element.firstChild; child !== null; child = child.nextSibling) {
    switch (child.nodeType) {
      case ELEMENT_NODE:
        if (child !== walk.omit) renderElement(walk, child, false);
        break;
      // C14N 1.0 §2.3 Text Nodes; CDATA sections are replaced with their character content (§1).
      case TEXT_NODE:
      case CDATA_SECTION_NODE:
        walk.out += escapeText(child.nodeValue);
        break;
      // C14N 1.0 §2.3 Comment Nodes: the string value verbatim, nothing escaped.
      case COMMENT_NODE:
        if (walk.withComments) walk.out += `<!--${child.nodeValue}-->`;
        break;
      // C14N 1.0 §2.3 Processing Instruction Nodes: target, a space only when there is a string value, value.
      case PROCESSING_INSTRUCTION_NODE: {
        const data = child.nodeValue;
        walk.out += data === '' ? `<?${child.nodeName}?>` : `<?${child.nodeName} ${data}?>`;
        break;
      }
      // Nothing else can be an element's child: parseXml refuses DTDs (so no entity references) and
      // builds no other node types. The caller turns this into a refusal.
      default:
        throw new Error(`unexpected node type ${(child as XmlNode).nodeType} inside an element`);
    }
  }
  walk.out += `</${element.nodeName}>`;
  popRendered(walk, mark);
}

/**
 * Emits the namespace declarations of `element` in canonical order (by prefix, the default
 * namespace first, C14N 1.0 §2.2 Document Order) and pushes them as rendered. A candidate binding
 * is emitted only when it differs from what the nearest output ancestor rendered (C14N 1.0 §2.3
 * "Namespace Nodes", exc-c14n §3 condition 3); an absent default counts as the empty one, which is
 * how `xmlns=""` gets emitted exactly when an output ancestor rendered a non-empty default.
 *
 * Candidates: Canonical XML renders every namespace node, so the apex considers every binding in
 * scope (those of omitted ancestors included) and a descendant only its own declarations (the rest
 * it shares with its output parent). Exclusive canonicalization considers only the prefixes the
 * element visibly utilizes (exc-c14n §1.1: its own and its attributes' prefixes; the default
 * namespace only for an unprefixed element) plus the PrefixList ones, which follow the Canonical
 * XML rule (exc-c14n §3).
 */
function renderNamespaces(walk: Walk, element: XmlElement, isApex: boolean): void {
  walk.pending = 0;
  if (walk.exclusive) {
    consider(walk, element.prefix ?? '', element.namespaceURI ?? '');
    const attributes = element.attributes;
    for (let i = 0; i < attributes.length; i++) {
      const attribute = attributes[i];
      const prefix = attribute?.prefix ?? null;
      if (prefix !== null && prefix !== '' && prefix !== 'xmlns') consider(walk, prefix, attribute?.namespaceURI ?? '');
    }
    if (walk.listed.size > 0) considerBindings(walk, element, isApex, true);
  } else {
    considerBindings(walk, element, isApex, false);
  }
  if (walk.pending > 1) sortPending(walk);
  for (let i = 0; i < walk.pending; i++) {
    const prefix = walk.pendingPrefixes[i] ?? '';
    // An exclusive candidate can come more than once (element, attribute, PrefixList), always with one URI.
    if (i > 0 && prefix === walk.pendingPrefixes[i - 1]) continue;
    const uri = walk.pendingUris[i] ?? '';
    walk.out += prefix === '' ? ` xmlns="${escapeAttribute(uri)}"` : ` xmlns:${prefix}="${escapeAttribute(uri)}"`;
    pushRendered(walk, prefix, uri);
  }
}

/** Records a rendered declaration; past {@link FEW} of them, also in the `nearest` index. */
function pushRendered(walk: Walk, prefix: string, uri: string): void {
  const index = walk.rendered++;
  walk.prefixes[index] = prefix;
  walk.uris[index] = uri;
  if (walk.nearest === undefined && walk.rendered <= FEW) return;
  if (walk.nearest === undefined) {
    walk.nearest = new Map();
    for (let i = 0; i < index; i++) indexRendered(walk.nearest, walk, i);
  }
  indexRendered(walk.nearest, walk, index);
}

function indexRendered(nearest: Map<string, number>, walk: Walk, index: number): void {
  const prefix = walk.prefixes[index] ?? '';
  walk.shadows[index] = nearest.get(prefix) ?? -1;
  nearest.set(prefix, index);
}

/** Drops the declarations rendered above `mark`, making visible again what they hid. */
function popRendered(walk: Walk, mark: number): void {
  const nearest = walk.nearest;
  for (let index = walk.rendered - 1; nearest !== undefined && index >= mark; index--) {
    const shadowed = walk.shadows[index] ?? -1;
    const prefix = walk.prefixes[index] ?? '';
    if (shadowed < 0) nearest.delete(prefix);
    else nearest.set(prefix, shadowed);
  }
  walk.rendered = mark;
}

/**
 * Considers the namespace declarations of `element` and, for the apex, those inherited from its
 * ancestors, the nearest declaration of a prefix shadowing the others (XML Namespaces §6.1);
 * `onlyListed` restricts them to the PrefixList.
 */
function considerBindings(walk: Walk, element: XmlElement, isApex: boolean, onlyListed: boolean): void {
  const shadowed: Set<string> | undefined = isApex ? new Set() : undefined;
  for (let node: XmlParent | null = element; node !== null && node.nodeType === ELEMENT_NODE; node = node.parentNode) {
    const attributes = node.attributes;
    for (let i = 0; i < attributes.length; i++) {
      const attribute = attributes[i];
      const prefix = attribute === undefined ? undefined : declaredPrefix(attribute.name);
      if (attribute === undefined || prefix === undefined) continue;
      if (shadowed !== undefined) {
        if (shadowed.has(prefix)) continue;
        shadowed.add(prefix);
      }
      if (!onlyListed || walk.listed.has(prefix)) consider(walk, prefix, attribute.value);
    }
    if (!isApex) return;
  }
}

/** Adds `prefix`→`uri` to the pending declarations unless an output ancestor already rendered it. */
function consider(walk: Walk, prefix: string, uri: string): void {
  // The xml prefix is bound by definition and never declared (XML Namespaces §3); a non-default
  // prefix cannot be undeclared in XML 1.0, so an empty URI there is no namespace node.
  if (prefix === 'xml' || (prefix !== '' && uri === '')) return;
  if (renderedUri(walk, prefix) === uri) return;
  walk.pendingPrefixes[walk.pending] = prefix;
  walk.pendingUris[walk.pending++] = uri;
}

/** The URI the nearest output ancestor rendered for `prefix`; "" for an unrendered default namespace. */
function renderedUri(walk: Walk, prefix: string): string | undefined {
  if (walk.nearest === undefined) {
    for (let i = walk.rendered - 1; i >= 0; i--) if (walk.prefixes[i] === prefix) return walk.uris[i];
  } else {
    const index = walk.nearest.get(prefix);
    if (index !== undefined) return walk.uris[index];
  }
  return prefix === '' ? '' : undefined;
}

/** Sorts the pending declarations by prefix, keeping the two lists aligned. */
function sortPending(walk: Walk): void {
  const prefixes = walk.pendingPrefixes;
  const uris = walk.pendingUris;
  if (walk.pending > FEW) {
    const order = Array.from({ length: walk.pending }, (_, i) => i).sort((a, b) => compareCodePoints(prefixes[a] ?? '', prefixes[b] ?? ''));
    const sortedPrefixes = order.map((i) => prefixes[i] ?? '');
    const sortedUris = order.map((i) => uris[i] ?? '');
    for (let i = 0; i < order.length; i++) {
      prefixes[i] = sortedPrefixes[i] ?? '';
      uris[i] = sortedUris[i] ?? '';
    }
    return;
  }
  for (let i = 1; i < walk.pending; i++) {
    const prefix = prefixes[i] ?? '';
    const uri = uris[i] ?? '';
    let j = i - 1;
    for (; j >= 0 && compareCodePoints(prefixes[j] ?? '', prefix) > 0; j--) {
      prefixes[j + 1] = prefixes[j] ?? '';
      uris[j + 1] = uris[j] ?? '';
    }
    prefixes[j + 1] = prefix;
    uris[j + 1] = uri;
  }
}

/**
 * Emits the attributes sorted by namespace URI, then local name, an attribute without namespace
 * first (C14N 1.0 §2.2 Document Order). Canonical XML 1.0 also gives the apex the
 * xml:* attributes of its omitted ancestors, nearest first, unless it has its own (C14N 1.0 §2.4);
 * exclusive canonicalization does not (exc-c14n §3).
 */
function renderAttributes(walk: Walk, element: XmlElement, isApex: boolean): void {
  const list = walk.attributes;
  walk.attributeCount = 0;
  const attributes = element.attributes;
  for (let i = 0; i < attributes.length; i++) {
    const attribute = attributes[i];
    if (attribute !== undefined && declaredPrefix(attribute.name) === undefined) list[walk.attributeCount++] = attribute;
  }
  if (isApex && !walk.exclusive) importXmlAttributes(walk, element);
  if (walk.attributeCount > FEW) {
    const sorted = list.slice(0, walk.attributeCount).sort(compareAttributes);
    sorted.forEach((attribute, index) => (list[index] = attribute));
  } else {
    insertionSort(list, walk.attributeCount);
  }
  for (let i = 0; i < walk.attributeCount; i++) {
    const attribute = list[i];
    if (attribute !== undefined) walk.out += ` ${attribute.name}="${escapeAttribute(attribute.value)}"`;
  }
}

function importXmlAttributes(walk: Walk, apex: XmlElement): void {
  let present: Set<string | null> | undefined;
  for (let node = apex.parentNode; node !== null && node.nodeType === ELEMENT_NODE; node = node.parentNode) {
    const attributes = node.attributes;
    for (let i = 0; i < attributes.length; i++) {
      const attribute = attributes[i];
      if (attribute?.namespaceURI !== XML_NS) continue;
      present ??= new Set(
        walk.attributes
          .slice(0, walk.attributeCount)
          .filter((a) => a.namespaceURI === XML_NS)
          .map((a) => a.localName),
      );
      if (present.has(attribute.localName)) continue;
      present.add(attribute.localName);
      walk.attributes[walk.attributeCount++] = attribute;
    }
  }
}

/** Sorts the first `count` attributes of the scratch list in place: elements have a handful, often already in order. */
function insertionSort(list: XmlAttr[], count: number): void {
  for (let i = 1; i < count; i++) {
    const attribute = list[i];
    if (attribute === undefined) continue;
    let j = i - 1;
    for (let before = list[j]; before !== undefined && compareAttributes(before, attribute) > 0; before = list[--j]) list[j + 1] = before;
    list[j + 1] = attribute;
  }
}

function compareAttributes(a: XmlAttr, b: XmlAttr): number {
  const byNamespace = compareCodePoints(a.namespaceURI ?? '', b.namespaceURI ?? '');
  return byNamespace !== 0 ? byNamespace : compareCodePoints(a.localName, b.localName);
}

/** `xmlns` → "", `xmlns:p` → "p", anything else undefined: the attributes that are namespace nodes in XPath. */
function declaredPrefix(name: string): string | undefined {
  if (name.charCodeAt(0) !== 0x78 /* x */ || !name.startsWith('xmlns')) return undefined;
  if (name.length === 5) return '';
  return name.charCodeAt(5) === 0x3a /* : */ ? name.slice(6) : undefined;
}
