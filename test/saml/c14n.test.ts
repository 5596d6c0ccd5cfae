/**
 * Direct tests of the canonicalization rules of src/domain/saml/c14n.ts, one rule per test, so that
 * dropping a rule fails here and not only in the differential runs (c14n-differential.test.ts,
 * c14n-xmlsec1.test.ts). Expected outputs follow C14N 1.0 and exc-c14n; the differential tests
 * check the same constructs against xmlsec1.
 */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareCodePoints } from '../../src/domain/saml/c14n-characters.ts';
import { C14N_ALGORITHMS, c14nMethod, canonicalize, type CanonicalizeOptions } from '../../src/domain/saml/canonicalize.ts';
import { childElements, descendants, parseXml } from '../../src/domain/saml/xml.ts';
import { parseXmlTree } from '../../src/domain/saml/xml-parser.ts';
import type { XmlElement } from '../../src/domain/saml/xml-tree.ts';
import { parseDocument } from '../support/c14n-cases.ts';
import { serializeXml } from '../support/xmldom.ts';

function parse(xml: string): XmlElement {
  const parsed = parseXml(xml);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value.root;
}

/** The element at child-element indexes `path` below the root of `xml`. */
function at(xml: string, ...path: number[]): XmlElement {
  let element = parse(xml);
  for (const index of path) element = childElements(element)[index]!;
  return element;
}

type Variant = keyof typeof C14N_ALGORITHMS;

function c14n(apex: XmlElement, variant: Variant, options: CanonicalizeOptions = {}): string {
  const result = canonicalize(apex, c14nMethod(C14N_ALGORITHMS[variant])!, options);
  if (!result.ok) throw new Error(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

test('namespace declarations come first, by prefix with the default namespace first, then attributes by namespace URI and local name', () => {
  const xml = '<r xmlns:b="urn:b" xmlns="urn:d" xmlns:a="urn:z"><e b:x="1" z="2" a:y="3" a:a="4" y="5"/></r>';
  // C14N 1.0 §2.2: no-namespace attributes first; "urn:b" < "urn:z" orders b:x before a:*.
  assert.equal(
    c14n(at(xml, 0), 'inclusive10'),
    '<e xmlns="urn:d" xmlns:a="urn:z" xmlns:b="urn:b" y="5" z="2" b:x="1" a:a="4" a:y="3"></e>',
  );
});

test('attributes are ordered by namespace URI first, even when one URI is a prefix of another', () => {
  const xml = '<r xmlns:a="urn:x" xmlns:b="urn:xa"><e b:b="2" a:z="1"/></r>';
  assert.equal(c14n(at(xml, 0), 'exclusive'), '<e xmlns:a="urn:x" xmlns:b="urn:xa" a:z="1" b:b="2"></e>');
});

test('names are ordered by code point, not by locale or UTF-16 code unit', () => {
  assert.equal(
    c14n(parse('<r xmlns:b="urn:1" xmlns:B="urn:2" xmlns:a="urn:3" xmlns:A="urn:4"/>'), 'inclusive10'),
    '<r xmlns:A="urn:4" xmlns:B="urn:2" xmlns:a="urn:3" xmlns:b="urn:1"></r>',
  );
  assert.equal(c14n(parse('<r a\u{10400}="2" a\uFB01="1"/>'), 'exclusive'), '<r a\uFB01="1" a\u{10400}="2"></r>');
  assert.ok(
    compareCodePoints('\uFB01', '\u{10400}') < 0 && compareCodePoints('\u{10400}', '\uFFFF') > 0 && compareCodePoints('a', 'ab') < 0,
  );
});

test('inclusive: the apex renders every binding in scope, descendants only those their output parent does not have', () => {
  const xml =
    '<r xmlns="urn:d" xmlns:p="urn:p" xmlns:q="urn:q"><a xmlns:p="urn:p2"><b xmlns:p="urn:p2" xmlns:q="urn:q"/><c xmlns:p="urn:p"/></a></r>';
  assert.equal(c14n(at(xml, 0), 'inclusive10'), '<a xmlns="urn:d" xmlns:p="urn:p2" xmlns:q="urn:q"><b></b><c xmlns:p="urn:p"></c></a>');
});

test('inclusive: xmlns="" is emitted only below an output ancestor with a non-empty default namespace', () => {
  const xml = '<r xmlns="urn:d"><a xmlns=""><b xmlns=""/></a><c><d xmlns=""/></c></r>';
  assert.equal(c14n(at(xml, 0), 'inclusive10'), '<a><b></b></a>', 'not on the apex, and not repeated');
  assert.equal(c14n(at(xml, 1), 'inclusive10'), '<c xmlns="urn:d"><d xmlns=""></d></c>');
});

test('exclusive: only visibly utilized prefixes are rendered, those of attributes included, each once', () => {
  const xml = '<r xmlns="urn:d" xmlns:p="urn:p" xmlns:q="urn:q" xmlns:u="urn:u"><p:a q:x="1"><p:b/><c/></p:a></r>';
  assert.equal(c14n(at(xml, 0), 'exclusive'), '<p:a xmlns:p="urn:p" xmlns:q="urn:q" q:x="1"><p:b></p:b><c xmlns="urn:d"></c></p:a>');
});

test('exclusive: a prefix is rendered again when its binding changed above without being rendered', () => {
  const xml = '<r xmlns:p="urn:1"><p:a><b xmlns:p="urn:2"><p:c/></b><p:d/></p:a></r>';
  assert.equal(c14n(at(xml, 0), 'exclusive'), '<p:a xmlns:p="urn:1"><b><p:c xmlns:p="urn:2"></p:c></b><p:d></p:d></p:a>');
});

test('exclusive: xmlns="" only where the nearest ancestor that rendered the default namespace rendered a non-empty one', () => {
  const xml = '<r xmlns="urn:d" xmlns:p="urn:p"><a><p:b xmlns=""><c><e/></c></p:b></a><p:f><g xmlns=""/></p:f></r>';
  assert.equal(c14n(at(xml, 0), 'exclusive'), '<a xmlns="urn:d"><p:b xmlns:p="urn:p"><c xmlns=""><e></e></c></p:b></a>');
  assert.equal(c14n(at(xml, 1), 'exclusive'), '<p:f xmlns:p="urn:p"><g></g></p:f>');
});

test('exclusive: PrefixList prefixes follow the inclusive rules, #default naming the default namespace', () => {
  const xml =
    '<r xmlns="urn:d" xmlns:xs="urn:xs" xmlns:u="urn:u"><p:a xmlns:p="urn:p"><p:b xmlns:xs="urn:xs"/><p:c xmlns:xs="urn:xs2"/><d xmlns=""/></p:a></r>';
  assert.equal(
    c14n(at(xml, 0), 'exclusive', { inclusivePrefixes: ['xs', '#default', 'absent'] }),
    '<p:a xmlns="urn:d" xmlns:p="urn:p" xmlns:xs="urn:xs"><p:b></p:b><p:c xmlns:xs="urn:xs2"></p:c><d xmlns=""></d></p:a>',
  );
  assert.equal(c14n(at(xml, 0), 'exclusive'), '<p:a xmlns:p="urn:p"><p:b></p:b><p:c></p:c><d></d></p:a>', 'without a PrefixList');
  assert.equal(
    c14n(at(xml, 0), 'inclusive10', { inclusivePrefixes: ['xs'] }),
    c14n(at(xml, 0), 'inclusive10'),
    'ignored by inclusive c14n',
  );
});

test('text escapes &, <, > and carriage return; attribute values escape &, <, ", tab, line feed and carriage return', () => {
  const xml = '<r a="&amp;&lt;&gt;&quot;\'&#9;&#10;&#13;">&amp;&lt;&gt;"\'&#13;&#9;&#10;</r>';
  assert.equal(c14n(parse(xml), 'exclusive'), '<r a="&amp;&lt;>&quot;\'&#x9;&#xA;&#xD;">&amp;&lt;&gt;"\'&#xD;\t\n</r>');
  // Each special character alone, too (a value without any is passed through unchanged).
  for (const [text, escaped] of [
    ['&#13;', '&#xD;'],
    ['>', '&gt;'],
    ['&amp;', '&amp;'],
    ['&lt;', '&lt;'],
  ]) {
    assert.equal(c14n(parse(`<r>x${text}y</r>`), 'exclusive'), `<r>x${escaped}y</r>`);
  }
  for (const [value, escaped] of [
    ['&#9;', '&#x9;'],
    ['&#10;', '&#xA;'],
    ['&#13;', '&#xD;'],
    ['&quot;', '&quot;'],
    ['&lt;', '&lt;'],
    ['&amp;', '&amp;'],
  ]) {
    assert.equal(c14n(parse(`<r a="x${value}y"/>`), 'exclusive'), `<r a="x${escaped}y"></r>`);
  }
});

test('a namespace URI is escaped like an attribute value', () => {
  // C14N 1.0 §2.3 processes a namespace node like an attribute node. Neither oracle helps here:
  // xml-crypto leaves the & raw (not even well-formed), libxml2 (xmlsec1) writes &#38;.
  assert.equal(c14n(parse('<p:r xmlns:p="urn:a&amp;b&quot;"/>'), 'exclusive'), '<p:r xmlns:p="urn:a&amp;b&quot;"></p:r>');
});

test('CDATA sections are rendered as escaped text, empty elements as a start and an end tag', () => {
  assert.equal(c14n(parse('<r><a><![CDATA[<b>&"]]>x</a><e/></r>'), 'inclusive10'), '<r><a>&lt;b&gt;&amp;"x</a><e></e></r>');
});

test('comments are rendered verbatim by the WithComments variants only, and dropped on request', () => {
  const root = parse('<r><!-- a & b < c > d -->t<!----></r>');
  assert.equal(c14n(root, 'exclusiveWithComments'), '<r><!-- a & b < c > d -->t<!----></r>');
  assert.equal(c14n(root, 'inclusive10WithComments'), '<r><!-- a & b < c > d -->t<!----></r>');
  assert.equal(c14n(root, 'exclusive'), '<r>t</r>');
  assert.equal(c14n(root, 'inclusive10WithComments', { dropComments: true }), '<r>t</r>');
});

test('processing instructions inside the apex are rendered, with or without comments', () => {
  const root = parse('<r><?pi  some data ?><a><?empty?></a></r>');
  assert.equal(c14n(root, 'exclusive'), '<r><?pi some data ?><a><?empty?></a></r>');
  assert.equal(c14n(root, 'inclusive10WithComments'), '<r><?pi some data ?><a><?empty?></a></r>');
});

test('inclusive 1.0 gives the apex the nearest xml:* attributes of its ancestors unless it has its own; exclusive does not', () => {
  const xml = '<r xml:lang="en" xml:space="preserve" xml:base="http://e/"><a xml:lang="fr"><b xml:space="default" z="1"/></a></r>';
  assert.equal(c14n(at(xml, 0, 0), 'inclusive10'), '<b z="1" xml:base="http://e/" xml:lang="fr" xml:space="default"></b>');
  assert.equal(c14n(at(xml, 0, 0), 'exclusive'), '<b z="1" xml:space="default"></b>');
  const refused = canonicalize(at(xml, 0, 0), c14nMethod(C14N_ALGORITHMS.inclusive11)!);
  assert.equal(refused.ok ? 'accepted' : refused.error.code, 'saml_unsupported_algorithm', 'Canonical XML 1.1 is still refused there');
});

test('omitChild leaves out exactly that child subtree; a node that is not a child is refused', () => {
  const root = parse('<r><a/><s><t/></s><b/></r>');
  const [, signature] = childElements(root);
  assert.equal(c14n(root, 'inclusive10', { omitChild: signature! }), '<r><a></a><b></b></r>');
  const grandchild = childElements(signature!)[0]!;
  const refused = canonicalize(root, c14nMethod(C14N_ALGORITHMS.exclusive)!, { omitChild: grandchild });
  assert.equal(refused.ok ? 'accepted' : refused.error.code, 'saml_signature_malformed');
});

test('a node canonical XML has no rule for, or a stack overflow, is refused as malformed XML', () => {
  // xmldom refuses to put an entity reference (or anything else unexpected) into an element, so one is faked.
  const root = parse('<r>x</r>');
  Object.defineProperty(root.firstChild!, 'nodeType', { value: 5 });
  const entity = canonicalize(root, c14nMethod(C14N_ALGORITHMS.exclusive)!);
  assert.equal(entity.ok ? 'accepted' : entity.error.code, 'saml_malformed_xml');
  let deepest = parseDocument('<r/>').root;
  const top = deepest;
  for (let i = 0; i < 30_000; i++) deepest = deepest.appendChild(deepest.ownerDocument.createElement('d'));
  const deep = canonicalize(top, c14nMethod(C14N_ALGORITHMS.exclusive)!);
  assert.equal(deep.ok ? 'accepted' : deep.error.code, 'saml_malformed_xml');
});

test('thousands of namespace declarations or attributes cost linear time, not quadratic (an unauthenticated SignedInfo is canonicalized)', () => {
  const declarations = Array.from({ length: 30_000 }, (_, i) => ` xmlns:p${i}="urn:${i}"`).join('');
  // Each b redeclares p0, rendered on the apex; once out of all of them, p0 means urn:0 again.
  const children = Array.from({ length: 3_000 }, (_, i) => `<b xmlns:p0="urn:q${i}"/>`).join('') + '<p0:z/>';
  const attributes = Array.from({ length: 20_000 }, (_, i) => ` p${i}:a="1"`).join('');
  const xml = `<r${declarations}><a>${children}</a><c${attributes}/></r>`;
  // parseXml refuses this shape (XML_LIMITS); the canonicalizer stays linear on its own, so it is parsed without the limits.
  assert.equal(!parseXml(xml, 4 * 1024 * 1024).ok && 'refused', 'refused');
  const [a, c] = childElements(parseXmlTree(xml).root);
  const started = performance.now();
  const prefixes = Array.from({ length: 30_000 }, (_, i) => `p${i}`);
  for (const variant of ['inclusive10', 'exclusive'] as const) {
    const canonical = c14n(a!, variant, { inclusivePrefixes: prefixes });
    assert.ok(canonical.startsWith('<a xmlns:p0="urn:0" xmlns:p1="urn:1" xmlns:p10="urn:10" '));
    assert.ok(canonical.endsWith('<b xmlns:p0="urn:q2999"></b><p0:z></p0:z></a>'));
    assert.ok(c14n(c!, variant).includes('"urn:9999" p0:a="1" p1:a="1" p10:a="1" p100:a="1" '));
  }
  // Linear: ~0.2 s here. The quadratic alternatives (scanning, insertion-sorting) take tens of seconds.
  assert.ok(performance.now() - started < 5_000, `took ${Math.round(performance.now() - started)} ms`);
});

test('canonicalize never changes the DOM, whatever the variant, PrefixList or omitted child', () => {
  const root = parse(
    '<r xmlns:xs="urn:xs" xmlns:p="urn:p" xml:lang="en"><p:a ID="a"><p:b>1</p:b><sig xmlns="urn:sig">s<!--c--></sig><p:c xs:t="v">2</p:c></p:a></r>',
  );
  const before = serializeXml(root.ownerDocument);
  for (const element of descendants(root)) {
    const signature = childElements(element).find((child) => child.localName === 'sig');
    for (const variant of Object.keys(C14N_ALGORITHMS) as Variant[]) {
      for (const inclusivePrefixes of [[], ['xs', '#default', 'p']]) {
        canonicalize(element, c14nMethod(C14N_ALGORITHMS[variant])!, {
          inclusivePrefixes,
          ...(signature === undefined ? {} : { omitChild: signature }),
        });
      }
    }
  }
  assert.equal(serializeXml(root.ownerDocument), before);
});
