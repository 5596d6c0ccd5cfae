/**
 * Small documents that stress the canonicalization rules one at a time (C14N 1.0 §2.2–§2.4,
 * exc-c14n §3), for the differential tests. Each names the PrefixLists worth trying on it.
 *
 * `xmlCryptoDeviation` marks a document built around a construct xml-crypto 6.3.2 canonicalizes
 * against the specification: there xml-crypto's output is expected to differ, and the tests hold
 * Lanyard to xmlsec1 instead. Every other document must match xml-crypto byte for byte.
 */

/** A generated document for the differential tests. */
export interface StressDocument {
  readonly id: string;
  readonly xml: string;
  /** Exclusive PrefixLists to try besides the empty one. */
  readonly prefixLists: readonly (readonly string[])[];
  /** Why xml-crypto is wrong on this document (spec section), if it is. */
  readonly xmlCryptoDeviation?: string;
}

const DS = 'xmlns:ds="http://www.w3.org/2000/09/xmldsig#"';
const SIGNATURE = `<ds:Signature ${DS}><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:SignedInfo><ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature>`;

export const STRESS_DOCUMENTS: readonly StressDocument[] = [
  {
    id: 'default namespace, undeclared and redeclared',
    xml:
      '<r xmlns="urn:r" xmlns:p="urn:p"><a><b xmlns=""/><p:d xmlns="urn:d"><e/><f xmlns=""/><q xmlns="urn:r"/></p:d>' +
      '<g xmlns="urn:r"><h xmlns="urn:g"/></g></a><p:i><j xmlns=""/><k/></p:i><l xmlns=""/></r>',
    prefixLists: [['p']],
  },
  {
    id: 'prefixes redeclared to other and to the same URIs at different depths',
    xml:
      '<p:r xmlns:p="urn:1" xmlns:q="urn:q"><p:a xmlns:p="urn:2"><p:b xmlns:p="urn:1"><q:c xmlns:q="urn:q"/><p:d xmlns:p="urn:1"/>' +
      '<x xmlns:p="urn:3"><p:y/></x></p:b><x q:at="v"/></p:a><p:e xmlns:p="urn:1"><q:f xmlns:q="urn:q2"><q:g xmlns:q="urn:q"/></q:f></p:e></p:r>',
    prefixLists: [['q'], ['p', 'q']],
  },
  {
    id: 'namespaced attributes, and prefixes used only by attributes',
    xml:
      '<r xmlns:a="urn:a" xmlns:b="urn:b" xmlns:z="urn:0"><e b:x="1" a:y="2" z="3" a:a="4" y="5" z:q="6" xml:space="preserve"/>' +
      '<f xmlns:c="urn:c" c:c="1" a:k="2"/><g a:only="attribute"><h/><a:h b:i=""/></g></r>',
    prefixLists: [['b'], ['z']],
  },
  {
    id: 'attribute and text escapes',
    xml:
      '<r a="&amp;&lt;&gt;&quot;\'&#9;&#10;&#13; x" b=\'"double" and &apos;single&apos;\' c="  spaced   out  " d="tab\tand\nnewline">' +
      't &amp; &lt; &gt; &#13; ]]&gt; "q" \'a\' &#x1F600; é<c e="&#xD;&#xA;&#x9;">&#9;tab&#10;lf&#13;&#10;crlf</c>\n  <d/>\t</r>',
    prefixLists: [],
  },
  {
    id: 'CDATA sections are text',
    xml: '<r><a><![CDATA[<b>&amp; "q" > \'a\']]>text<![CDATA[]]]]><![CDATA[>]]></a><b><![CDATA[ ]]></b></r>',
    prefixLists: [],
  },
  {
    id: 'comments without markup characters',
    xml: '<r><!--plain comment--><a>x<!---->y<!-- two words --></a><b><!-- only --></b></r>',
    prefixLists: [],
  },
  {
    id: 'enveloped signature in the middle',
    xml: `<r xmlns="urn:r" xmlns:x="urn:x" ID="_r"><a>1</a>${SIGNATURE}<b ${DS}><ds:c/></b><x:d/></r>`,
    prefixLists: [['ds'], ['x']],
  },
  {
    id: 'PrefixList of prefixes declared above, unused, redeclared or absent',
    xml:
      '<r xmlns:xs="urn:xs" xmlns:xsi="urn:xsi" xmlns:p="urn:p" xmlns:unused="urn:unused">' +
      '<p:a><p:b xsi:type="xs:string">v</p:b><c xmlns:xs="urn:xs2"><d xmlns:xs="urn:xs"/></c></p:a></r>',
    prefixLists: [['xs'], ['xs', 'xsi'], ['unused', 'p'], ['absent']],
  },
  {
    id: 'SAML-shaped response with an enveloped signature and xsi:type values',
    xml:
      '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" Version="2.0"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">idp</saml:Issuer>' +
      `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="_a" Version="2.0"><saml:Issuer>idp</saml:Issuer>${SIGNATURE}` +
      '<saml:Subject><saml:NameID>alice@example.com</saml:NameID></saml:Subject><saml:AttributeStatement><saml:Attribute Name="mail">' +
      '<saml:AttributeValue xsi:type="xs:string">alice@example.com</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>',
    prefixLists: [['xs'], ['xs', 'xsi'], ['saml']],
  },
  {
    id: 'unprefixed elements below an xmlns="" undeclaration',
    xml: '<r xmlns="urn:r" xmlns:p="urn:p"><a xmlns=""><b><c/></b><p:d xmlns="urn:d"><e xmlns=""/></p:d><f xmlns=""/></a></r>',
    prefixLists: [],
    xmlCryptoDeviation:
      'xml-crypto\'s exclusive canonicalizer repeats xmlns="" on unprefixed descendants of an element that rendered it; exc-c14n §3 renders a namespace node only when the nearest output ancestor that visibly rendered that prefix (here the default namespace) rendered another value.',
  },
  {
    id: 'PrefixList naming the local name of a prefixed attribute',
    xml: '<r xmlns:c="urn:c" xmlns:p="urn:p"><f c:c="1"/><g p:xs="2"><h/></g></r>',
    prefixLists: [['c'], ['xs']],
    xmlCryptoDeviation:
      'xml-crypto\'s exclusive canonicalizer takes any prefixed attribute whose local name is in the PrefixList for a namespace declaration (c:c="1" renders xmlns:c="1"); exc-c14n §3 applies the PrefixList to namespace nodes only.',
  },
  {
    id: 'comments with markup characters',
    xml: '<r><!-- a &amp; b < c > d --><a>t<!--&lt;x/&gt;--></a></r>',
    prefixLists: [],
    xmlCryptoDeviation:
      'xml-crypto escapes &, <, > inside comments; C14N 1.0 §2.3 (Comment Nodes) renders the string value of a comment unescaped.',
  },
  {
    id: 'processing instructions',
    xml: '<r><?pi data?><a><?empty?>t</a><?other  spaced data ?></r>',
    prefixLists: [],
    xmlCryptoDeviation:
      'xml-crypto renders a processing instruction as its escaped data (text); C14N 1.0 §2.3 (Processing Instruction Nodes) renders <?target data?>.',
  },
  {
    id: 'PrefixList with #default',
    xml: '<r xmlns="urn:d" xmlns:p="urn:p"><p:a><p:b/><c xmlns=""><p:e/></c><d/></p:a></r>',
    prefixLists: [['#default'], ['#default', 'p']],
    xmlCryptoDeviation:
      'xml-crypto ignores the token #default in a PrefixList; exc-c14n §4 makes it name the default namespace, rendered under the Canonical XML rules (exc-c14n §3).',
  },
  {
    id: 'xml:* attributes on ancestors',
    xml: '<r xml:lang="en" xml:space="preserve" xml:base="http://example.com/"><a xml:lang="fr"><b><c xml:space="default"/></b></a><d/></r>',
    prefixLists: [],
    xmlCryptoDeviation:
      'xml-crypto does not import xml:lang, xml:space or xml:base from omitted ancestors into the apex; Canonical XML 1.0 §2.4 does (exclusive c14n does not, exc-c14n §3).',
  },
  {
    id: 'explicit declarations of the xml prefix',
    xml: '<r xmlns:xml="http://www.w3.org/XML/1998/namespace" xmlns="urn:d"><a xml:lang="en"><b xmlns:xml="http://www.w3.org/XML/1998/namespace"/></a></r>',
    prefixLists: [['xml']],
    xmlCryptoDeviation:
      'xml-crypto renders a declaration of the xml prefix; that prefix is bound by definition (Namespaces in XML §3), an implicit namespace node of every element in the XPath data model that canonical forms do not render.',
  },
  {
    id: 'namespace prefixes in code point order',
    xml: '<r xmlns:b="urn:b" xmlns:B="urn:B" xmlns:a="urn:a" xmlns:A="urn:A"><a:x B:y="1" A:y="2" b:z="3"/></r>',
    prefixLists: [['a', 'A', 'b', 'B']],
    xmlCryptoDeviation:
      'xml-crypto orders namespace declarations with localeCompare (a < A < b < B); C14N 1.0 §2.2 orders them lexicographically by code point (A < B < a < b).',
  },
  {
    id: 'attribute namespace URIs that are prefixes of one another',
    xml: '<r xmlns:a="urn:x" xmlns:b="urn:xa"><e a:z="1" b:b="2"/></r>',
    prefixLists: [],
    xmlCryptoDeviation:
      'xml-crypto orders attributes by namespace URI and local name concatenated ("urn:xab" < "urn:xz"); C14N 1.0 §2.2 orders by namespace URI first ("urn:x" < "urn:xa").',
  },
  {
    id: 'names beyond the Basic Multilingual Plane',
    xml: '<r a\uFB01="1" a\u{10400}="2" \u{10400}="3" \uFB01="4"><e/></r>',
    prefixLists: [],
    xmlCryptoDeviation:
      'xml-crypto compares attribute names by UTF-16 code unit, which puts U+10400 before U+FB01; C14N 1.0 §2.2 compares by UCS code point (U+FB01 first).',
  },
];
