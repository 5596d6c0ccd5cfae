/**
 * Lanyard's canonicalizer (src/domain/saml/c14n.ts) against xml-crypto's, which the verifier used
 * before: every element of every parsable conformance-corpus document (and decrypted assertion)
 * and of the generated stress documents, with the four c14n variants, the documents' PrefixLists
 * and the enveloped signature left out, must give byte-identical output.
 *
 * Where xml-crypto is itself wrong per the specification (the stress documents marked
 * `xmlCryptoDeviation`, each explaining the rule), the outputs are expected to differ, and Lanyard's
 * output is held to xmlsec1's for exactly the cases that differ.
 */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { casesFor, describeCase, elementAt, lanyardCanonicalize, parseDocument, probeCase, type C14nCase } from '../support/c14n-cases.ts';
import { corpusPresent, loadCorpusDocuments } from '../support/c14n-corpus.ts';
import { STRESS_DOCUMENTS, type StressDocument } from '../support/c14n-documents.ts';
import { requireOrSkip } from '../support/environment.ts';
import { xmlCryptoCanonicalize, xmlCryptoMutates, xmlCryptoPrefixes } from '../support/xml-crypto-c14n.ts';
import { serializeXml } from '../support/xmldom.ts';
import { hasXmlsec1, mapConcurrently, XMLSEC1_MISSING, xmlsecCanonicalize } from '../support/xmlsec1.ts';

const PROBE_KEY = join(import.meta.dirname, '..', 'fixtures', 'keys', 'idp-test.key.pem');

interface Mismatch {
  readonly c14nCase: C14nCase;
  readonly lanyard: string;
  readonly xmlCrypto: string;
}

/**
 * Runs every case of one document through both canonicalizers. xml-crypto's cases that can change
 * the DOM get a fresh parse each; the others share one fresh parse, which must still serialize
 * the same afterwards. Lanyard's parse must too (its canonicalizer never changes the DOM).
 */
function compareWithXmlCrypto(xml: string, prefixLists: readonly (readonly string[])[]): { cases: number; mismatches: Mismatch[] } {
  const lanyard = parseDocument(xml);
  const shared = parseDocument(xml);
  const before = serializeXml(lanyard.document);
  const mismatches: Mismatch[] = [];
  const cases = casesFor(lanyard.root, prefixLists);
  for (const c14nCase of cases) {
    const prefixes = xmlCryptoPrefixes(elementAt(lanyard.root, c14nCase.path), c14nCase);
    const ours = lanyardCanonicalize(lanyard.root, c14nCase, prefixes);
    const target = xmlCryptoMutates(elementAt(shared.root, c14nCase.path), c14nCase) ? parseDocument(xml).root : shared.root;
    let theirs: string;
    try {
      theirs = xmlCryptoCanonicalize(target, c14nCase);
    } catch (error) {
      theirs = `(xml-crypto threw: ${(error as Error).message})`;
    }
    if (ours !== theirs) mismatches.push({ c14nCase, lanyard: ours, xmlCrypto: theirs });
  }
  assert.equal(serializeXml(shared.document), before, 'xml-crypto changed the parse it shares between the cases that cannot change it');
  assert.equal(serializeXml(lanyard.document), before, "Lanyard's canonicalizer changed the DOM");
  return { cases: cases.length, mismatches };
}

function report(id: string, mismatches: readonly Mismatch[]): string[] {
  return mismatches.slice(0, 3).map((m) => `${id} ${describeCase(m.c14nCase)}\n  lanyard:    ${m.lanyard}\n  xml-crypto: ${m.xmlCrypto}`);
}

test('c14n agrees with xml-crypto on every element of every parsable conformance corpus document', (t) => {
  if (!requireOrSkip(t, corpusPresent(), 'the SAML conformance corpus (../shared/conformance/saml)')) return;
  const { documents, unparsable } = loadCorpusDocuments();
  assert.deepEqual(unparsable, ['ssoready-malformed-nul', 'crewjam-google-malformed-attribute', 'node-saml-multiple-root-elements']);
  const failures: string[] = [];
  let total = 0;
  for (const document of documents) {
    // The PrefixLists the document itself uses are the realistic ones to try on all its elements.
    const prefixLists = [...new Set([...document.xml.matchAll(/PrefixList="([^"]*)"/g)].map((match) => match[1]!))].map((list) =>
      list.split(/\s+/).filter(Boolean),
    );
    const { cases, mismatches } = compareWithXmlCrypto(document.xml, prefixLists);
    total += cases;
    failures.push(...report(document.id, mismatches));
  }
  console.log(`c14n vs xml-crypto: ${total} cases over ${documents.length} corpus documents`);
  assert.deepEqual(failures, [], failures.join('\n'));
});

const agreeing = STRESS_DOCUMENTS.filter((document) => document.xmlCryptoDeviation === undefined);
const deviating = STRESS_DOCUMENTS.filter((document) => document.xmlCryptoDeviation !== undefined);

test('c14n agrees with xml-crypto on every element of the generated stress documents', () => {
  const failures: string[] = [];
  let total = 0;
  for (const document of agreeing) {
    const { cases, mismatches } = compareWithXmlCrypto(document.xml, document.prefixLists);
    total += cases;
    failures.push(...report(document.id, mismatches));
  }
  console.log(`c14n vs xml-crypto: ${total} cases over ${agreeing.length} stress documents`);
  assert.deepEqual(failures, [], failures.join('\n'));
});

test('where xml-crypto breaks the c14n specifications, c14n differs from it and agrees with xmlsec1', async (t) => {
  const differing: { document: StressDocument; mismatches: Mismatch[] }[] = [];
  for (const document of deviating) {
    const { mismatches } = compareWithXmlCrypto(document.xml, document.prefixLists);
    // If this fails, xml-crypto was fixed: the document belongs with the agreeing ones.
    assert.ok(mismatches.length > 0, `xml-crypto now agrees on "${document.id}" (${document.xmlCryptoDeviation})`);
    differing.push({ document, mismatches });
  }
  if (!requireOrSkip(t, hasXmlsec1(), XMLSEC1_MISSING)) return;
  const failures = await mapConcurrently(differing, async ({ document, mismatches }) => {
    const expected = await xmlsecCanonicalize(
      document.xml,
      mismatches.map((m) => probeCase(m.c14nCase)),
      PROBE_KEY,
    );
    return mismatches.flatMap((m, i) =>
      m.lanyard === expected[i]
        ? []
        : [`${document.id} ${describeCase(m.c14nCase)}\n  lanyard: ${m.lanyard}\n  xmlsec1: ${expected[i]}\n  xml-crypto: ${m.xmlCrypto}`],
    );
  });
  const count = differing.reduce((sum, { mismatches }) => sum + mismatches.length, 0);
  console.log(`c14n vs xmlsec1 where xml-crypto deviates: ${count} cases over ${differing.length} documents`);
  assert.deepEqual(failures.flat(), [], failures.flat().join('\n'));
});
