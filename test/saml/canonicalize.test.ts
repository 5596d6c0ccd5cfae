import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { C14N_ALGORITHMS, c14nMethod, canonicalize } from '../../src/domain/saml/canonicalize.ts';
import { children, parseXml } from '../../src/domain/saml/xml.ts';
import type { XmlElement } from '../../src/domain/saml/xml-tree.ts';
import { serializeXml } from '../support/xmldom.ts';

function parse(xml: string): XmlElement {
  const parsed = parseXml(xml);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value.root;
}

const method = (uri: string) => c14nMethod(uri)!;

test('canonicalize leaves the parsed document exactly as it was (with an enveloped signature left out and a PrefixList)', () => {
  const root = parse(
    '<r xmlns:xs="urn:xs" xmlns:p="urn:p"><p:a ID="a"><p:b>1</p:b><sig xmlns="urn:sig">s</sig><p:c xs:t="v">2</p:c></p:a></r>',
  );
  const apex = root.firstChild as XmlElement;
  const signature = children(apex, 'urn:sig', 'sig')[0]!;
  const before = serializeXml(root);
  const result = canonicalize(apex, method(C14N_ALGORITHMS.exclusive), { omitChild: signature, inclusivePrefixes: ['xs'] });
  assert.deepEqual(result, { ok: true, value: '<p:a xmlns:p="urn:p" xmlns:xs="urn:xs" ID="a"><p:b>1</p:b><p:c xs:t="v">2</p:c></p:a>' });
  assert.equal(serializeXml(root), before);
});

test("inclusive c14n of a subtree carries the ancestors' namespace declarations once", () => {
  const root = parse('<r xmlns="urn:default" xmlns:p="urn:p"><a><p:b/></a></r>');
  const result = canonicalize(root.firstChild as XmlElement, method(C14N_ALGORITHMS.inclusive10));
  assert.deepEqual(result, { ok: true, value: '<a xmlns="urn:default" xmlns:p="urn:p"><p:b></p:b></a>' });
});

test('Canonical XML 1.1 is produced by the 1.0 canonicalizer only when no ancestor carries xml:* attributes', () => {
  const plain = parse('<r><a x="1"><b/></a></r>');
  const eleven = canonicalize(plain.firstChild as XmlElement, method(C14N_ALGORITHMS.inclusive11));
  const ten = canonicalize(plain.firstChild as XmlElement, method(C14N_ALGORITHMS.inclusive10));
  assert.deepEqual(eleven, ten);
  const withLang = parse('<r xml:lang="en"><a><b/></a></r>');
  const refused = canonicalize(withLang.firstChild as XmlElement, method(C14N_ALGORITHMS.inclusive11));
  assert.equal(refused.ok ? 'accepted' : refused.error.code, 'saml_unsupported_algorithm');
  // Exclusive c14n never inherits xml:* attributes (exc-c14n §3), so it is unaffected.
  assert.equal(canonicalize(withLang.firstChild as XmlElement, method(C14N_ALGORITHMS.exclusive)).ok, true);
});

test('comments are dropped for same-document references even with a #WithComments method', () => {
  const root = parse('<r><!-- c -->t</r>');
  assert.deepEqual(canonicalize(root, method(C14N_ALGORITHMS.exclusiveWithComments), { dropComments: true }), {
    ok: true,
    value: '<r>t</r>',
  });
  assert.deepEqual(canonicalize(root, method(C14N_ALGORITHMS.exclusiveWithComments)), { ok: true, value: '<r><!-- c -->t</r>' });
});
