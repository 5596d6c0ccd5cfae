/**
 * parseXml's tree as @xmldom/xmldom's types, for the test code written against xmldom's DOM
 * (XMLSerializer, and xml-crypto's canonicalizers driven as the verifier once drove them). The
 * classes behind the tree's read-only interfaces (src/domain/saml/xml-tree.ts) implement the part of
 * that DOM this code reads and changes; src itself never sees xmldom.
 */
import { XMLSerializer, type Element, type Node } from '@xmldom/xmldom';
import type { XmlElement, XmlNode } from '../../src/domain/saml/xml-tree.ts';

export function asXmldom(element: XmlElement): Element {
  return element as unknown as Element;
}

/** xmldom's serialization of `node` and what is below it. */
export function serializeXml(node: XmlNode): string {
  return new XMLSerializer().serializeToString(node as unknown as Node);
}
