/**
 * One test per rule of src/domain/saml/xml-parser.ts, through parseXml, so that dropping a check
 * fails here and not only in the differential run (xml-parser-differential.test.ts). Each refusal
 * sits next to the closest document that must still be accepted.
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseXml } from '../../src/domain/saml/xml.ts';
import type { XmlTreeDocument, XmlTreeElement } from '../../src/domain/saml/xml-tree.ts';

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/** The parse as the tree's classes (what parseXml builds), whose `childNodes` the tests read. */
function accepted(xml: string): { document: XmlTreeDocument; root: XmlTreeElement } {
  const parsed = parseXml(xml);
  if (!parsed.ok) assert.fail(`refused ${JSON.stringify(xml)}: ${parsed.error.message}`);
  return parsed.value as { document: XmlTreeDocument; root: XmlTreeElement };
}

function refused(xml: string, why?: RegExp): void {
  const parsed = parseXml(xml);
  assert.equal(parsed.ok ? 'accepted' : parsed.error.code, 'xml_malformed', JSON.stringify(xml));
  if (why !== undefined && !parsed.ok) assert.match(parsed.error.message, why, JSON.stringify(xml));
}

/** The data of the root's only child. */
const text = (xml: string) => accepted(xml).root.firstChild?.nodeValue ?? null;
const attribute = (xml: string, name = 'b') => accepted(xml).root.getAttribute(name);

describe('characters (XML 1.0 §2.2)', () => {
  test('every character must be an XML Char, in text, attribute values, comments and names alike', () => {
    for (const c of ['\u0001', '\u001F', '\uFFFE', '\uFFFF', '\uD800', '\uDC00']) {
      refused(`<a>${c}</a>`, /not an XML Char/);
      refused(`<a b="${c}"/>`, /not an XML Char/);
      refused(`<a><!--${c}--></a>`, /not an XML Char/);
    }
    assert.equal(
      text('<a>\t\u007F\u0080\uD7FF\uE000\uFFFD\u{10000}\u{10FFFF}</a>'.replace('\uFFFD', '')),
      '\t\u007F\u0080\uD7FF\uE000\u{10000}\u{10FFFF}',
    );
  });

  test('U+FFFD, the mark of a decoding error, is refused as xmldom refused it; a reference to it is not', () => {
    refused('<a>\uFFFD</a>', /U\+FFFD/);
    assert.equal(text('<a>&#xFFFD;</a>'), '\uFFFD');
  });
});

describe('references (XML 1.0 §4.1, §4.6)', () => {
  test('the predefined entities and character references are decoded, in text and in attribute values', () => {
    assert.equal(text('<a>&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#x1F600;&#0065;</a>'), '&<>"\'AB\u{1F600}A');
    assert.equal(attribute('<a b="&amp;&lt;&gt;&quot;&apos;&#65;&#x42;"/>'), '&<>"\'AB');
    assert.equal(text('<a>&#38;amp;</a>'), '&amp;', 'a decoded & is not decoded again');
  });

  test('an undefined entity is refused (WFC: Entity Declared; there is no DTD to declare one)', () => {
    refused('<a>&foo;</a>', /neither a character reference nor a predefined entity/);
    refused('<a b="&nbsp;"/>', /neither/);
    refused('<a>&AMP;</a>', /neither/);
  });

  test('a bare or unterminated & is refused', () => {
    for (const bad of ['a & b', '&', '&;', '&amp', '&#65', '&#;', '&#x;', '&#X41;', '&#x4G;', '& amp;']) {
      refused(`<a>${bad}</a>`, /neither/);
      refused(`<a b="${bad}"/>`, /neither/);
    }
  });

  test('a character reference to a character that is not an XML Char is refused (WFC: Legal Character)', () => {
    for (const ref of ['&#0;', '&#x0;', '&#1;', '&#x1F;', '&#xD800;', '&#xDFFF;', '&#xFFFE;', '&#xFFFF;', '&#x110000;', '&#99999999999;']) {
      refused(`<a>${ref}</a>`, /is not an XML Char/);
      refused(`<a b="${ref}"/>`, /is not an XML Char/);
    }
    assert.equal(text('<a>&#9;&#xA;&#xD;&#x20;&#xD7FF;&#xE000;&#x10FFFF;</a>'), '\t\n\r \uD7FF\uE000\u{10FFFF}');
  });
});

describe('line ends and attribute-value normalization (XML 1.0 §2.11, §3.3.3)', () => {
  test('CR LF and CR become LF in text; xmldom also turned NEL, LS and PS into LF, and so does the parser', () => {
    assert.equal(text('<a>1\r\n2\r3\n4\u00855\u20286\u20297\r\u00858</a>'), '1\n2\n3\n4\n5\n6\n7\n8');
    assert.equal(text('<a>&#13;&#10;</a>'), '\r\n', 'references are not normalized');
  });

  test('in attribute values each literal tab, LF or CR (after line-end normalization) becomes a space; references stay', () => {
    assert.equal(attribute('<a b="x\ty\nz\r\nw\rv"/>'), 'x y z w v');
    assert.equal(attribute('<a b="&#9;&#10;&#13;&#x20;"/>'), '\t\n\r ');
    assert.equal(attribute('<a b="  two  spaces  "/>'), '  two  spaces  ', 'CDATA attributes are not collapsed');
  });
});

describe('markup', () => {
  test('"<" is refused in attribute values; ">" and the other quote are not', () => {
    refused('<a b="<"/>', /not well-formed/);
    refused("<a b='x<y'/>", /not well-formed/);
    assert.equal(attribute('<a b=">\'"/>'), ">'");
    assert.equal(attribute("<a b='\"'/>"), '"');
  });

  test('"]]>" is refused in text (XML 1.0 §2.4); "]]" and "]>" are not', () => {
    refused('<a>x]]>y</a>', /"\]\]>"/);
    assert.equal(text('<a>]] ]> >></a>'), ']] ]> >>');
  });

  test('attributes: white space between them, a quoted value, one = and nothing else in the tag', () => {
    for (const bad of [
      '<a b="1"c="2"/>',
      '<a b=1/>',
      '<a b/>',
      '<a b="1"/ >',
      '<a b = >',
      '<a "1"/>',
      '<a b="1" / >',
      '<a b="1>',
      '<a b="1"',
    ]) {
      refused(bad, /not well-formed/);
    }
    assert.deepEqual(
      [...accepted('<a\n b\t=\r\n "1"\n c = \'2\' />').root.attributes].map((a) => [a.name, a.value]),
      [
        ['b', '1'],
        ['c', '2'],
      ],
    );
  });

  test('white space inside tags is only space, tab, CR and LF (XML 1.0 [3] S); xmldom also took U+0080 and controls for it', () => {
    for (const c of ['\u0080', '\u00A0', '\u2003', '\u000B', '\u000C']) refused(`<a${c}b="1"/>`);
    refused('<a></a\u00A0>');
    assert.equal(attribute('<a\tb="1"\n/>'), '1');
  });

  test('names are XML 1.0 5th edition Names without colons but one (Namespaces 1.0 [7] QName)', () => {
    for (const bad of ['<1a/>', '<-a/>', '<.a/>', '<a:b:c xmlns:a="u"/>', '<:a/>', '<a:/>', '<a\u037E/>', '<a\u{F0000}/>', '<a\u00D7/>']) {
      refused(bad, /no valid name|not well-formed/);
    }
    refused('<a 1b="x"/>', /not well-formed/);
    refused('<a :b="x"/>', /not well-formed/);
    const mixed = accepted('<p:é xmlns:p="urn:p" p:ü="1" ä="2"><p:x\u00B7y/><a.b-c/></p:é>').root;
    assert.deepEqual(
      [mixed.localName, mixed.namespaceURI, mixed.getAttributeNS('urn:p', 'ü'), mixed.getAttribute('ä')],
      ['é', 'urn:p', '1', '2'],
    );
    assert.deepEqual(
      ([...mixed.childNodes] as XmlTreeElement[]).map((el) => el.localName),
      ['x\u00B7y', 'a.b-c'],
    );
    for (const good of ['<é/>', '<_a-b.c·9/>', '<a\u0300/>', '<\u{10000}\u{EFFFF}/>', '<\uFB01/>', '<a\u203F/>']) accepted(good);
  });

  test('an attribute appears once per element by name (WFC: Unique Att Spec) and by expanded name (NSC: Attributes Unique)', () => {
    refused('<a b="1" b="2"/>', /attribute twice/);
    refused('<a xmlns:p="u" p:b="1" p:b="2"/>', /attribute twice/);
    refused('<a xmlns:p="u" xmlns:q="u" p:b="1" q:b="2"/>', /has the attribute \{u\}b twice/);
    refused('<a xmlns="u" xmlns="v"/>', /attribute twice/);
    const many = Array.from({ length: 40 }, (_, i) => ` a${i}="${i}"`).join('');
    accepted(`<a${many}/>`);
    refused(`<a${many} a39="again"/>`, /attribute twice/);
    refused(`<a xmlns:p="u" xmlns:q="u"${many} p:b="1" q:b="2"/>`, /has the attribute \{u\}b twice/);
    const root = accepted('<a xmlns:p="u" xmlns:q="v" b="0" p:b="1" q:b="2"/>').root;
    assert.deepEqual(
      [...root.attributes].map((a) => a.name),
      ['xmlns:p', 'xmlns:q', 'b', 'p:b', 'q:b'],
    );
  });

  test('comments: no "--" inside, none at the end, and closed', () => {
    for (const bad of ['<a><!-- a -- b --></a>', '<a><!-- a ---></a>', '<a><!-- a </a>', '<a><!---></a>']) refused(bad, /comment/);
    refused('<a><!-></a>', /markup at 3 is not well-formed/);
    assert.equal(accepted('<a><!--->x--></a>').root.firstChild?.nodeValue, '->x', '"-" then ">" is comment text');
    assert.equal(accepted('<a><!----></a>').root.firstChild?.nodeValue, '');
    assert.equal(accepted('<a><!-- - a-b -></a>--></a>').root.firstChild?.nodeValue, ' - a-b -></a>');
  });

  test('CDATA sections: only inside the root element, closed, their text verbatim; an empty one adds no node', () => {
    refused('<![CDATA[x]]><a/>', /CDATA section outside the root/);
    refused('<a/><![CDATA[x]]>', /CDATA section outside the root/);
    refused('<a><![CDATA[x</a>', /not closed/);
    refused('<a><![cdata[x]]></a>', /not well-formed/);
    const root = accepted('<a><![CDATA[<b>&amp;]]]]><![CDATA[>]]><![CDATA[]]></a>').root;
    assert.deepEqual(
      [...root.childNodes].map((node) => [node.nodeType, node.nodeValue]),
      [
        [4, '<b>&amp;]]'],
        [4, '>'],
      ],
    );
  });

  test('other "<!" markup is refused (the DOCTYPE has its own code, see xml.test.ts)', () => {
    for (const bad of ['<a><!ELEMENT a ANY></a>', '<a><!x></a>', '<a><! --x--></a>', '<!--c--><!ATTLIST a b CDATA #IMPLIED><a/>'])
      refused(bad);
  });
});

describe('processing instructions and the XML declaration (XML 1.0 §2.6, §2.8)', () => {
  test('a target is an NCName (Namespaces 1.0 §7), followed by white space or the end', () => {
    refused('<a><?p:i x?></a>', /needs white space after its target/);
    refused('<a><?1pi?></a>', /no valid target/);
    refused('<a><?pi#x?></a>', /needs white space/);
    refused('<a><?pi x</a>', /not closed/);
    const root = accepted('<a><?pi?><?pi   data with ? and > ?><?xml-stylesheet href="s"?></a>').root;
    assert.deepEqual(
      [...root.childNodes].map((node) => [node.nodeName, node.nodeValue]),
      [
        ['pi', ''],
        ['pi', 'data with ? and > '],
        ['xml-stylesheet', 'href="s"'],
      ],
    );
  });

  test('"xml" in any case is reserved: only the XML declaration, only at the very start, only well-formed', () => {
    refused('<a><?xml version="1.0"?></a>', /XML declaration/);
    refused(' <?xml version="1.0"?><a/>', /XML declaration/);
    refused('<!--c--><?xml version="1.0"?><a/>', /XML declaration/);
    refused('<?XML version="1.0"?><a/>', /XML declaration/);
    refused('<a><?XmL x?></a>', /XML declaration/);
    for (const bad of [
      '<?xml?>',
      '<?xml version="2.0"?>',
      '<?xml encoding="UTF-8"?>',
      '<?xml version="1.0" standalone="yes" encoding="UTF-8"?>',
      '<?xml version=\'1.0"?>',
      '<?xml version="1.0" standalone="maybe"?>',
    ]) {
      refused(`${bad}<a/>`, /XML declaration/);
    }
    for (const good of [
      '<?xml version="1.0"?>',
      "<?xml version='1.0' encoding='UTF-8' standalone='no' ?>",
      '<?xml version="1.1"?>',
      '<?xml\nversion = "1.0"\n?>',
    ]) {
      const { document } = accepted(`${good}\n<a/>`);
      assert.equal(document.firstChild?.nodeName, 'xml', 'the declaration is a leading PI named xml, as with xmldom');
    }
  });
});

describe('namespaces (Namespaces in XML 1.0)', () => {
  test('prefixes of elements and attributes must be declared (NSC: Prefix Declared); xml is bound, xmlns is not a prefix to use', () => {
    refused('<p:a/>', /prefix of p:a is not declared/);
    refused('<a p:b="1"/>', /prefix of p:b is not declared/);
    refused('<a><p:b xmlns:p="u"/><p:c/></a>', /prefix of p:c/);
    refused('<xmlns:a/>', /not declared/);
    const root = accepted('<a xml:lang="en"><xml:b/></a>').root;
    assert.equal(root.getAttributeNodeNS(XML_NS, 'lang')?.value, 'en');
    assert.equal((root.firstChild as XmlTreeElement).namespaceURI, XML_NS);
  });

  test('a prefix is never undeclared (NSC: No Prefix Undeclaring); the default namespace is, by xmlns=""', () => {
    refused('<a xmlns:p=""/>', /undeclares the prefix p/);
    refused('<a xmlns:p="u"><b xmlns:p=""/></a>', /undeclares/);
    const root = accepted('<a xmlns="u"><b xmlns=""><c/></b><d/></a>').root;
    const [b, d] = [...root.childNodes] as XmlTreeElement[];
    assert.deepEqual(
      [root.namespaceURI, b?.namespaceURI, (b?.firstChild as XmlTreeElement).namespaceURI, d?.namespaceURI],
      ['u', null, null, 'u'],
    );
  });

  test('the reserved prefixes and namespace names (NSC: Reserved Prefixes and Namespace Names)', () => {
    refused(`<a xmlns:xml="urn:other"/>`, /binds the prefix xml/);
    refused(`<a xmlns:xmlns="urn:x"/>`, /declares the prefix xmlns/);
    refused(`<a xmlns:xmlns="${XMLNS_NS}"/>`, /declares the prefix xmlns/);
    refused(`<a xmlns:p="${XML_NS}"/>`, /reserved namespace/);
    refused(`<a xmlns:p="${XMLNS_NS}"/>`, /reserved namespace/);
    refused(`<a xmlns="${XML_NS}"/>`, /reserved namespace/);
    refused(`<a xmlns="${XMLNS_NS}"/>`, /reserved namespace/);
    accepted(`<a xmlns:xml="${XML_NS}"/>`);
  });

  test('declarations are attributes in the xmlns namespace, as c14n.ts reads them; scopes end with their element', () => {
    const root = accepted('<p:a xmlns:p="urn:p" xmlns="urn:d" b="1" p:c="2"><p:x xmlns:p="urn:q"/><p:y/><z/></p:a>').root;
    assert.deepEqual(
      [...root.attributes].map((a) => [a.name, a.prefix, a.localName, a.namespaceURI, a.value]),
      [
        ['xmlns:p', 'xmlns', 'p', XMLNS_NS, 'urn:p'],
        ['xmlns', null, 'xmlns', XMLNS_NS, 'urn:d'],
        ['b', null, 'b', null, '1'],
        ['p:c', 'p', 'c', 'urn:p', '2'],
      ],
    );
    assert.deepEqual([root.prefix, root.localName, root.namespaceURI], ['p', 'a', 'urn:p']);
    assert.deepEqual(
      ([...root.childNodes] as XmlTreeElement[]).map((el) => [el.nodeName, el.prefix, el.localName, el.namespaceURI]),
      [
        ['p:x', 'p', 'x', 'urn:q'],
        ['p:y', 'p', 'y', 'urn:p'],
        ['z', null, 'z', 'urn:d'],
      ],
    );
  });

  test('a declaration value is an attribute value: normalized and decoded before it binds', () => {
    assert.equal(accepted('<p:a xmlns:p="urn:a&amp;b&#x9;c\td"/>').root.namespaceURI, 'urn:a&b\tc d');
  });
});

describe('document structure (XML 1.0 §2.1, §3)', () => {
  test('one root element, matching end tags, nothing left open', () => {
    refused('<a/></a>', /end tag without a start tag/);
    refused('<a></a/>', /does not match <a>/);
    refused('<1a/>', /the tag at 0 has no valid name/);
    for (const bad of [
      '',
      ' ',
      '<!--c-->',
      '<a>',
      '<a><b></a>',
      '<a></b>',
      '<a></a></a>',
      '</a>',
      '<a/><b/>',
      '<a/>x',
      'x<a/>',
      '<a/>&amp;',
      '<a></a',
      '<a></a x>',
      '<a></ab>',
      '<ab></a>',
    ]) {
      refused(bad);
    }
  });

  test('white space around the root is kept as document children between nodes, as xmldom kept it', () => {
    const { document } = accepted('<?xml version="1.0"?>\n<!--c-->\n<a/>\n<?pi x?>\n');
    assert.deepEqual(
      [...document.childNodes].map((node) => [node.nodeType, node.nodeName]),
      [
        [7, 'xml'],
        [3, '#text'],
        [8, '#comment'],
        [3, '#text'],
        [1, 'a'],
        [3, '#text'],
        [7, 'pi'],
      ],
    );
  });

  test('text is one node per run between markup, references decoded in place', () => {
    const root = accepted('<a>x&amp;y<b/>z<!--c-->w</a>').root;
    assert.deepEqual(
      [...root.childNodes].map((node) => [node.nodeType, node.nodeValue]),
      [
        [3, 'x&y'],
        [1, null],
        [3, 'z'],
        [8, 'c'],
        [3, 'w'],
      ],
    );
  });
});
