/**
 * Lanyard's canonicalizer against xmlsec1 (libxml2's canonicalizer, see test/support/xmlsec1.ts):
 *
 * - for every ds:Signature of every parsable corpus document (and decrypted assertion), SignedInfo
 *   and each Reference's pre-digest octets as xmlsec1 computes them when verifying;
 * - the same over signed documents generated here in every c14n variant (xmlsec1 signs templates;
 *   the test builder signs with exclusive c14n), which Lanyard's verifier must also accept;
 * - every case of the generated stress documents, through xmlsec1's XPath-filtered references.
 *
 * xmlsec1 is a Debian package: the tests skip loudly without it, and fail in CI (CI=true).
 */
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readSignature, verifySignature } from '../../src/domain/saml/signature.ts';
import type { XmlElement } from '../../src/domain/saml/xml-tree.ts';
import { casesFor, describeCase, lanyardCanonicalize, parseDocument, probeCase } from '../support/c14n-cases.ts';
import { corpusPresent, loadCorpusDocuments } from '../support/c14n-corpus.ts';
import { STRESS_DOCUMENTS } from '../support/c14n-documents.ts';
import { requireOrSkip } from '../support/environment.ts';
import { ALGORITHMS, buildResponseXml, idpTrustedCert, sign } from '../support/saml-builder.ts';
import { compareSignature, signaturesOf, type SignatureComparison } from '../support/xmlsec-signatures.ts';
import { hasXmlsec1, mapConcurrently, nthSignatureXpath, XMLSEC1_MISSING, xmlsecCanonicalize, xmlsecSign } from '../support/xmlsec1.ts';

const KEYS = join(import.meta.dirname, '..', 'fixtures', 'keys');
const IDP_KEY = join(KEYS, 'idp-test.key.pem');
const IDP_CERT = join(KEYS, 'idp-test.cert.pem');

/**
 * Corpus signatures xmlsec1 refuses before canonicalizing anything, with the error it gives: all are
 * attacks or unsupported algorithms. Every other signature must be compared in full.
 */
const XMLSEC1_REFUSES: Readonly<Record<string, string>> = {
  'ssoready-okta-bad-digest-alg #1': 'href=BAD_DIGEST_ALGORITHM', // DigestMethod is not an algorithm
  'ssoready-okta-bad-signature-alg #1': 'href=BAD_SIGNATURE_ALGORITHM', // SignatureMethod is not an algorithm
  // Signature wrapping with a repeated ID: xmlsec1 refuses to load the document.
  'crewjam-secureworks-injected-assertion #0': 'duplicate ID attribute',
  'crewjam-xsw-1 #0': 'duplicate ID attribute',
  'crewjam-xsw-2 #0': 'duplicate ID attribute',
  'crewjam-xsw-7 #0': 'duplicate ID attribute',
  'crewjam-xsw-8 #0': 'duplicate ID attribute',
  'xml-crypto-feide-xsw #0': 'duplicate ID attribute',
  'xml-crypto-feide-xsw #1': 'duplicate ID attribute',
  'python3-saml-xsw-statusdetail #0': 'duplicate ID attribute',
  'boxyhq-saml20-xsw-extensions #0': 'duplicate ID attribute',
  // An Assertion or Response smuggled into the ds:Signature, or a SignedInfo wrapped or repeated:
  // the Signature element breaks the XML-DSig schema (XML-DSig 1.1 §4.2).
  'crewjam-xsw-6 #0': 'unexpected node:node=Assertion',
  'boxyhq-saml20-xsw-response-1 #0': 'unexpected node:node=Response',
  'xml-crypto-onelogin-wrapped-signedinfo #0': 'actual=WRAPPER; expected=SignedInfo',
  'xml-crypto-onelogin-multiple-signedinfo #0': 'actual=SignedInfo; expected=SignatureValue',
};

function tally(label: string, results: readonly SignatureComparison[]): { compared: number; failures: string[] } {
  const failures = results.flatMap((r) => r.failures);
  const compared = results.reduce((sum, r) => sum + r.compared.length, 0);
  console.log(`c14n vs xmlsec1 (${label}): ${compared} canonicalizations compared`);
  return { compared, failures };
}

test('c14n agrees with xmlsec1 on SignedInfo and every Reference of every signed corpus document', async (t) => {
  if (!requireOrSkip(t, corpusPresent(), 'the SAML conformance corpus (../shared/conformance/saml)')) return;
  if (!requireOrSkip(t, hasXmlsec1(), XMLSEC1_MISSING)) return;
  const jobs = loadCorpusDocuments().documents.flatMap((doc) =>
    signaturesOf(parseDocument(doc.xml).root).map((_, index) => ({ doc, index, label: `${doc.id} #${index}` })),
  );
  const results = await mapConcurrently(jobs, ({ doc, index, label }) => compareSignature(label, doc.xml, index, doc.certFile));
  const { failures } = tally(`${jobs.length} corpus signatures`, results);
  const unexpected: string[] = [];
  jobs.forEach(({ label }, i) => {
    const { skipped, compared } = results[i]!;
    const refused = XMLSEC1_REFUSES[label];
    if (refused === undefined) unexpected.push(...skipped.map((s) => `${s.what}: not compared: ${s.reason}`));
    else if (compared.length > 0 || !skipped.some((s) => s.reason.includes(refused)))
      unexpected.push(`${label}: expected xmlsec1 to refuse it (${refused})`);
  });
  assert.deepEqual(
    Object.keys(XMLSEC1_REFUSES).filter((label) => !jobs.some((job) => job.label === label)),
    [],
    'listed refusals that match no signature',
  );
  assert.deepEqual([...failures, ...unexpected], []);
});

/** A signature template for xmlsec1 to fill in (XML-DSig 1.1 §4; no KeyInfo: the verifier pins the key). */
interface TemplateOptions {
  readonly target: 'assertion' | 'response';
  readonly signedInfoC14n: string;
  readonly signedInfoPrefixes?: string;
  readonly referenceC14n?: string;
  readonly referencePrefixes?: string;
  readonly wholeDocument?: boolean;
  /** Extra attributes for the Response start tag (namespace declarations, xml:lang). */
  readonly responseAttributes?: string;
}

const inclusiveNamespaces = (list: string | undefined) =>
  list === undefined ? '' : `<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="${list}"/>`;

function template(options: TemplateOptions): string {
  const id = options.target === 'assertion' ? '_assertion-7d3e' : '_response-91ab';
  const referenceC14n =
    options.referenceC14n === undefined
      ? ''
      : `<ds:Transform Algorithm="${options.referenceC14n}">${inclusiveNamespaces(options.referencePrefixes)}</ds:Transform>`;
  const signature =
    `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>` +
    `<ds:CanonicalizationMethod Algorithm="${options.signedInfoC14n}">${inclusiveNamespaces(options.signedInfoPrefixes)}</ds:CanonicalizationMethod>` +
    `<ds:SignatureMethod Algorithm="${ALGORITHMS.rsaSha256}"/><ds:Reference URI="${options.wholeDocument === true ? '' : `#${id}`}">` +
    `<ds:Transforms><ds:Transform Algorithm="${ALGORITHMS.enveloped}"/>${referenceC14n}</ds:Transforms>` +
    `<ds:DigestMethod Algorithm="${ALGORITHMS.sha256}"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature>`;
  // SAML core §5.4.1: the signature follows the Issuer of the element it signs.
  const xml = buildResponseXml({ nameIdXml: 'alice<!-- a comment -->@example.com' }).replace(
    '<samlp:Response ',
    `<samlp:Response ${options.responseAttributes ?? ''} `,
  );
  const issuerEnd =
    options.target === 'assertion' ? xml.indexOf('</saml:Issuer>', xml.indexOf('<saml:Assertion')) : xml.indexOf('</saml:Issuer>');
  const at = issuerEnd + '</saml:Issuer>'.length;
  return xml.slice(0, at) + signature + xml.slice(at);
}

const EXC = ALGORITHMS.excC14n;
const EXC_COMMENTS = `${EXC}WithComments`;
const C14N10 = 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315';
const C14N11 = 'http://www.w3.org/2006/12/xml-c14n11';
const DEFAULT_NS = 'xmlns="urn:example:unused-default"';

const TEMPLATES: readonly (TemplateOptions & { readonly id: string })[] = [
  {
    id: 'exclusive, PrefixLists with #default',
    target: 'assertion',
    signedInfoC14n: EXC,
    signedInfoPrefixes: '#default ds',
    referenceC14n: EXC,
    referencePrefixes: 'xs #default',
    responseAttributes: DEFAULT_NS,
  },
  {
    id: 'exclusive with comments, PrefixList',
    target: 'response',
    signedInfoC14n: EXC_COMMENTS,
    signedInfoPrefixes: 'saml',
    referenceC14n: EXC_COMMENTS,
    referencePrefixes: 'xsi',
  },
  {
    id: 'inclusive 1.0, inherited default namespace and xml:lang',
    target: 'assertion',
    signedInfoC14n: C14N10,
    referenceC14n: C14N10,
    responseAttributes: `${DEFAULT_NS} xml:lang="en"`,
  },
  {
    id: 'inclusive 1.0 with comments',
    target: 'response',
    signedInfoC14n: `${C14N10}#WithComments`,
    referenceC14n: `${C14N10}#WithComments`,
  },
  { id: 'inclusive 1.1', target: 'assertion', signedInfoC14n: C14N11, referenceC14n: C14N11, responseAttributes: DEFAULT_NS },
  { id: 'inclusive 1.1 with comments, no reference c14n (1.0 by default)', target: 'response', signedInfoC14n: `${C14N11}#WithComments` },
  { id: 'whole document (URI=""), inclusive 1.0', target: 'response', signedInfoC14n: EXC, referenceC14n: C14N10, wholeDocument: true },
];

test('c14n agrees with xmlsec1 on generated documents signed in every c14n variant, and Lanyard verifies them', async (t) => {
  if (!requireOrSkip(t, hasXmlsec1(), XMLSEC1_MISSING)) return;
  const xmlsecSigned = await mapConcurrently(TEMPLATES, async (options) => ({
    id: options.id,
    xml: (await xmlsecSign(template(options), nthSignatureXpath(0), IDP_KEY)).signed,
  }));
  const unsigned = buildResponseXml({ nameIdXml: 'alice<!-- a comment -->@example.com' });
  const builderSigned = [
    { id: 'builder: assertion signed', xml: sign(unsigned, { target: 'assertion' }) },
    { id: 'builder: response signed', xml: sign(unsigned, { target: 'response' }) },
    { id: 'builder: both signed', xml: sign(sign(unsigned, { target: 'assertion' }), { target: 'response' }) },
  ];
  const documents = [...xmlsecSigned, ...builderSigned];
  const jobs = documents.flatMap((doc) => signaturesOf(parseDocument(doc.xml).root).map((_, index) => ({ doc, index })));
  const results = await mapConcurrently(jobs, ({ doc, index }) => compareSignature(`${doc.id} #${index}`, doc.xml, index, IDP_CERT));
  const { failures } = tally(`${documents.length} generated signed documents`, results);
  const skipped = results.flatMap((r) => r.skipped.map((s) => `${s.what}: ${s.reason}`));
  const refused: string[] = [];
  for (const doc of documents) {
    for (const signature of signaturesOf(parseDocument(doc.xml).root)) {
      const policy = { trustedCerts: [idpTrustedCert], allowSha1: false };
      const read = readSignature(signature, signature.parentNode as XmlElement, policy);
      const verified = read.ok ? verifySignature(read.value, policy) : read;
      if (!verified.ok) refused.push(`${doc.id}: ${verified.error.code}: ${verified.error.message}`);
    }
  }
  assert.deepEqual([...failures, ...skipped, ...refused], []);
});

test('c14n agrees with xmlsec1 on every element of the generated stress documents, in every variant', async (t) => {
  if (!requireOrSkip(t, hasXmlsec1(), XMLSEC1_MISSING)) return;
  const perDocument = await mapConcurrently(STRESS_DOCUMENTS, async (document) => {
    const { root } = parseDocument(document.xml);
    const cases = casesFor(root, document.prefixLists);
    const expected = await xmlsecCanonicalize(document.xml, cases.map(probeCase), IDP_KEY);
    return cases.flatMap((c14nCase, i) => {
      const ours = lanyardCanonicalize(root, c14nCase);
      return ours === expected[i] ? [] : [`${document.id} ${describeCase(c14nCase)}\n  lanyard: ${ours}\n  xmlsec1: ${expected[i]}`];
    });
  });
  const cases = STRESS_DOCUMENTS.reduce(
    (sum, document) => sum + casesFor(parseDocument(document.xml).root, document.prefixLists).length,
    0,
  );
  console.log(`c14n vs xmlsec1: ${cases} cases over ${STRESS_DOCUMENTS.length} stress documents`);
  assert.deepEqual(perDocument.flat(), []);
});
