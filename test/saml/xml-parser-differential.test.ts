/**
 * Lanyard's XML parser (src/domain/saml/xml-parser.ts, behind parseXml) against the parser it
 * replaced, @xmldom/xmldom 0.9 driven exactly as parseXml drove it (any warning or error refuses),
 * and against expat (libexpat through python3, with namespace processing) as the referee on what
 * XML 1.0 and Namespaces 1.0 call well-formed.
 *
 * Inputs: every XML and base64 document of the conformance corpus (../shared/conformance/saml) and
 * the decrypted assertions, the metadata fixtures, the canonicalization stress documents, responses
 * and logout messages from the test builders (signed and unsigned), hand-written edge cases, and a
 * few thousand seeded random mutations of them. Documents the shared checks of parseXml refuse
 * before any parser runs (size, NUL, DOCTYPE, XML_LIMITS) are the same code either way and left out.
 *
 * expat reads each document after xmldom's line-end normalization, which Lanyard keeps (U+0085,
 * U+2028 and U+2029 become line feeds, XML 1.1 §2.11, as they did with xmldom), so that the three
 * judge the same characters. expat's name characters are XML 1.0 4th edition's; where it refuses a
 * document Lanyard and xmldom accept, it must accept it once every non-ASCII name character of the
 * 5th edition (§2.3, which both follow) is replaced by "x" and its code point in hex.
 *
 * For every input:
 *   - accepted by Lanyard ⇒ accepted by xmldom with an identical tree (node kinds, names,
 *     namespaces, prefixes, attributes in order, character data, sibling and parent links, the DOM
 *     methods Lanyard calls, and xmldom's XMLSerializer output), and accepted by expat;
 *   - refused by Lanyard but accepted by xmldom ⇒ refused by expat too (Lanyard is stricter only where
 *     the specifications say the document is not well-formed), for one of the reasons in STRICTER.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { parseXml } from '../../src/domain/saml/xml.ts';
import { parseXmlTree, XmlSyntaxError } from '../../src/domain/saml/xml-parser.ts';
import { corpusDir, corpusPresent, loadCorpusDocuments, readFixture } from '../support/c14n-corpus.ts';
import { STRESS_DOCUMENTS } from '../support/c14n-documents.ts';
import { hasCommand, requireOrSkip } from '../support/environment.ts';
import { buildLogoutRequestXml, buildLogoutResponseXml } from '../support/logout-builder.ts';
import { ALGORITHMS, buildAssertionXml, buildResponseXml, sign } from '../support/saml-builder.ts';

/**
 * Where xmldom accepts what XML 1.0 or Namespaces 1.0 forbids, and Lanyard refuses: each Lanyard
 * message (a pattern) with the rule. xmldom accepts these silently; expat refuses every one.
 */
const STRICTER: readonly (readonly [RegExp, string])[] = [
  [
    /not an XML Char \(XML 1\.0 §2\.2\)/,
    'a control character, U+FFFE/U+FFFF or a lone surrogate in text or an attribute value (XML 1.0 §2.2 [2] Char)',
  ],
  [
    /neither a character reference nor a predefined entity/,
    'a bare "&" or "&;" in text or an attribute value (XML 1.0 §2.4, §3.1 [10] AttValue)',
  ],
  [
    /character reference .* is not an XML Char/,
    '&#0; and other references to non-Chars, which xmldom decodes (XML 1.0 §4.1 WFC: Legal Character)',
  ],
  [/"\]\]>"/, '"]]>" in character data (XML 1.0 §2.4)'],
  [/undeclares the prefix/, 'xmlns:p="" (Namespaces 1.0 §5 NSC: No Prefix Undeclaring); xmldom accepts it while p is unused'],
  [
    /has the attribute \{.*\}.* twice/,
    'two attributes with one expanded name, e.g. p:x and q:x with p, q bound to one URI (Namespaces 1.0 §6.3 NSC: Attributes Unique); xmldom keeps one and drops the other',
  ],
  [
    /reserved namespace|declares the prefix xmlns|binds the prefix xml/,
    'binding xml/xmlns or their namespace names otherwise (Namespaces 1.0 §3 NSC: Reserved Prefixes and Namespace Names)',
  ],
  [
    /end tag without a start tag/,
    'an end tag after the root element has ended, which xmldom takes for a second end of the root (XML 1.0 §2.1 [1] document, §3 WFC: Element Type Match)',
  ],
  [
    /has no valid (name|target)|is not well-formed|needs white space/,
    'a name character outside XML 1.0 5th ed. §2.3 (U+037E, U+F0000 and above), a colon in a PI target (Namespaces 1.0 §7), or a character xmldom takes for white space inside a tag (U+0080, controls; XML 1.0 [3] S is only space, tab, CR, LF)',
  ],
];

type Outcome = { ok: true; dump: string } | { ok: false; reason: string };

/** The old parseXml's parser stage: xmldom, refusing on any report, a DOCTYPE node or other than one root. */
function viaXmldom(text: string): Outcome {
  let problem: string | undefined;
  let document;
  try {
    document = new DOMParser({
      locator: false,
      onError: (level, message) => (problem ??= `${level}: ${message.split('\n')[0]}`),
    }).parseFromString(text, 'text/xml');
  } catch (error) {
    return { ok: false, reason: (error as Error).message.split('\n')[0]! };
  }
  if (problem !== undefined) return { ok: false, reason: problem };
  const kinds: number[] = [];
  for (let node = document.firstChild; node !== null; node = node.nextSibling) kinds.push(node.nodeType);
  if (kinds.includes(10)) return { ok: false, reason: 'doctype' };
  if (kinds.filter((kind) => kind === 1).length !== 1) return { ok: false, reason: 'not one root' };
  return { ok: true, dump: dump(document) };
}

function viaLanyard(text: string): Outcome {
  try {
    return { ok: true, dump: dump(parseXmlTree(text).document) };
  } catch (error) {
    if (error instanceof XmlSyntaxError) return { ok: false, reason: error.message };
    throw error;
  }
}

/* eslint-disable @typescript-eslint/no-explicit-any -- one walk over two DOM implementations */
/** Everything Lanyard's code (and the tests) can read from a parsed document, as one string. */
function dump(document: any): string {
  const lines: string[] = [`serialized ${JSON.stringify(new XMLSerializer().serializeToString(document))}`];
  const walk = (node: any, depth: number, index: number): void => {
    const pad = `${'  '.repeat(depth)}${index}`;
    // (xmldom's document is its own ownerDocument, DOM's is null: nothing reads it.)
    assert.ok(node.nodeType === 9 || node.ownerDocument === document, 'ownerDocument');
    let count = 0;
    let previous: any = null;
    for (let child = node.firstChild; child !== null; child = child.nextSibling, count++) {
      assert.ok(child.parentNode === node, 'parentNode');
      assert.ok(child.previousSibling === previous, 'previousSibling');
      previous = child;
    }
    assert.ok(node.lastChild === previous, 'lastChild');
    assert.equal(node.childNodes.length, count, 'childNodes');
    switch (node.nodeType) {
      case 9:
        lines.push(`${pad} document ${node.nodeName} root=${[...node.childNodes].indexOf(node.documentElement)}`);
        break;
      case 1: {
        const attributes = [...node.attributes].map((a: any) => {
          assert.ok(a.ownerElement === node, 'ownerElement');
          return JSON.stringify([
            a.nodeType,
            a.name,
            a.nodeName,
            a.prefix,
            a.localName,
            a.namespaceURI,
            a.value,
            a.nodeValue,
            node.getAttribute(a.name),
            node.hasAttribute(a.name),
            node.getAttributeNS(a.namespaceURI, a.localName),
            node.getAttributeNode(a.name) === a,
          ]);
        });
        lines.push(
          `${pad} element ${JSON.stringify([node.nodeName, node.tagName, node.namespaceURI, node.prefix, node.localName, node.nodeValue])}` +
            ` lookupPrefix=${node.namespaceURI === null ? '-' : node.lookupPrefix(node.namespaceURI)} missing=${node.getAttribute('lanyard-missing')},${node.hasAttribute('lanyard-missing')}` +
            ` text=${JSON.stringify(node.textContent)} attributes=[${attributes.join(', ')}] item=${node.attributes.item(node.attributes.length)}`,
        );
        break;
      }
      case 7:
        lines.push(`${pad} pi ${JSON.stringify([node.nodeName, node.target, node.data, node.nodeValue])}`);
        break;
      default:
        lines.push(`${pad} ${node.nodeType} ${JSON.stringify([node.nodeName, node.data, node.nodeValue])}`);
    }
    let i = 0;
    for (let child = node.firstChild; child !== null; child = child.nextSibling) walk(child, depth + 1, i++);
  };
  walk(document, 0, 0);
  return lines.join('\n');
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** expat's verdict on each document ("ok" or its error), one python3 process for all of them. */
function viaExpat(texts: readonly string[]): string[] {
  const script = [
    'import sys, json, xml.parsers.expat as E',
    'out = []',
    'for s in json.loads(sys.stdin.read()):',
    '    try:',
    '        data = s.encode("utf-8")',
    '    except UnicodeEncodeError:',
    '        out.append("not encodable as UTF-8"); continue',
    // A separator no XML Char can be: expat refuses a namespace name that contains its separator.
    '    p = E.ParserCreate("UTF-8", namespace_separator="\\x01")',
    '    try:',
    '        p.Parse(data, True); out.append("ok")',
    '    except E.ExpatError as e:',
    '        out.append(str(e))',
    'sys.stdout.write(json.dumps(out))',
  ].join('\n');
  const run = spawnSync('python3', ['-c', script], { input: JSON.stringify(texts), maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as string[];
}

/** Documents whose structure the tests and the verifier rely on, and small ones that exercise each construct. */
const HANDWRITTEN = [
  '<a/>',
  '<?xml version="1.0" encoding="UTF-8"?>\n<a/>\n',
  "<?xml version='1.0' standalone='yes' ?><a/>",
  '<?xml version="1.1"?><a/>',
  '<!-- before --><?pi before?>\n <a/> <!--after--> <?pi   after ?>\n',
  '<a>x<![CDATA[y<&>]]>z&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#x1F600;<!--c-->w<?p d?></a>',
  '<a><![CDATA[]]></a>',
  '<a b="x\ty&#9;&#10;&#13;\r\n&#x20;z" c=\'"\' d="\'" e="&lt;&amp;"/>',
  '<a>line\r\nnext\rlast\u0085nel\u2028ls\u2029ps\r\u0085</a>',
  '<a b="1\r\n2\u20283"/>',
  '<p:a xmlns:p="urn:p" xmlns="urn:d" p:x="1" x="2" xml:lang="en"><b xmlns=""><c xmlns="urn:e"/></b><p:d xmlns:p="urn:q"/></p:a>',
  '<xml:a xmlns:xml="http://www.w3.org/XML/1998/namespace"/>',
  '<a xmlns="urn:a"><b xmlns="urn:a"/></a>',
  '<é xmlns:ü="urn:u" ü:ä="1"><ü:ö·-.9/></é>',
  '<p:é xmlns:p="urn:p" p:ü="1" ä="2" a.b-c="3"><p:x·y/><a.b-c/></p:é>',
  '<a>\uFEFF text with U+FEFF</a>',
  '<a></a >',
  '<a\n b\n =\n "1"\n/>',
  '<a>]]</a>',
  '<a>]></a>',
  '<a>>></a>',
  '<a b=">"/>',
];

/** Mutations: characters and fragments that make and break markup. */
const INSERTS = [
  '<',
  '>',
  '&',
  ';',
  '"',
  "'",
  '=',
  ':',
  '/',
  '!',
  '?',
  '-',
  ']',
  '[',
  '#',
  'x',
  ' ',
  '\t',
  '\n',
  '\r',
  '\r\n',
  'é',
  '\u00B7',
  '\u037E',
  '\u0080',
  '\u0001',
  '\u0085',
  '\u2028',
  '\uFFFD',
  '\uFFFE',
  '\uD800',
  '\u{1F600}',
  '\u{F0000}',
  '&amp;',
  '&lt;',
  '&#65;',
  '&#x41;',
  '&#0;',
  '&#xD800;',
  '&#x110000;',
  '&foo;',
  '&#;',
  '&#x;',
  '&amp',
  '&#X41;',
  '<!--',
  '-->',
  '--',
  '<![CDATA[',
  ']]>',
  '<?pi ',
  '<?p:i x?>',
  '<?xml version="1.0"?>',
  '?>',
  '<x/>',
  '</x>',
  '<ü/>',
  ' xmlns:p="urn:x"',
  ' xmlns=""',
  ' xmlns:p=""',
  ' p:a="1"',
  ' xml:lang="en"',
  ' xmlns:xml="urn:x"',
  ' xmlns:xmlns="urn:x"',
  ' a="1"',
  ' a="1" a="2"',
  ' ü="1"',
];

/** Attributes and declarations, inserted at the end of a start tag: each namespace rule gets exercised. */
const ATTRIBUTE_INSERTS = [
  ' xmlns:p="urn:x"',
  ' xmlns:p=""',
  ' xmlns=""',
  ' xmlns="urn:d"',
  ' p:a="1"',
  ' xmlns:p="urn:x" p:a="1" q:a="2" xmlns:q="urn:x"',
  ' xmlns:p="urn:x" p:a="1" xmlns:q="urn:y" q:a="2"',
  ' saml:x="1"',
  ' xml:lang="en"',
  ' xmlns:xml="urn:x"',
  ' xmlns:xml="http://www.w3.org/XML/1998/namespace"',
  ' xmlns:xmlns="urn:x"',
  ' xmlns:p="http://www.w3.org/2000/xmlns/"',
  ' a="1" a="2"',
  ' ID="dup"',
  ' a="&#10;&#9;\t\n\r\n x"',
  ' a="&bogus;"',
  " a='\"'",
  ' a="<"',
  ' a=">"',
  ' ü="1"',
  ' a="1"b="2"',
  ' a=1',
];

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One to three edits, most of them next to markup, where they matter. */
function mutate(xml: string, random: () => number): string {
  let out = xml;
  const edits = 1 + Math.floor(random() * 3);
  for (let e = 0; e < edits; e++) {
    let at = Math.floor(random() * (out.length + 1));
    if (random() < 0.7) {
      const marks = [...out.matchAll(/[<>"'=&;:]/g)];
      const mark = marks[Math.floor(random() * marks.length)];
      if (mark !== undefined) at = mark.index + Math.floor(random() * 3) - 1;
      at = Math.max(0, Math.min(out.length, at));
    }
    const kind = random();
    if (kind < 0.15) {
      // An attribute or declaration where one can stand: at the end of a start tag.
      const ends = [...out.matchAll(/<[^/!?][^<>]*?(\/?>)/g)];
      const end = ends[Math.floor(random() * ends.length)];
      const fragment = ATTRIBUTE_INSERTS[Math.floor(random() * ATTRIBUTE_INSERTS.length)]!;
      if (end !== undefined) at = end.index + end[0].length - end[1]!.length;
      out = out.slice(0, at) + fragment + out.slice(at);
    } else if (kind < 0.4) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(random() * 2));
    else if (kind < 0.85) out = out.slice(0, at) + INSERTS[Math.floor(random() * INSERTS.length)]! + out.slice(at);
    else {
      const length = 1 + Math.floor(random() * 12);
      out = out.slice(0, at) + out.slice(at, at + length) + out.slice(at);
    }
  }
  return out;
}

function baseDocuments(): { id: string; xml: string }[] {
  const out: { id: string; xml: string }[] = [];
  if (corpusPresent()) {
    const manifest = JSON.parse(readFileSync(join(corpusDir, 'manifest.json'), 'utf8')) as {
      id: string;
      file: string;
      encoding: 'xml' | 'base64';
    }[];
    const listed = new Set(manifest.map((entry) => entry.file));
    for (const entry of manifest) out.push({ id: entry.id, xml: readFixture(entry) });
    // Any XML or base64 file of the corpus directory the manifest does not list.
    for (const file of readdirSync(corpusDir)) {
      if (listed.has(file) || !/\.(xml|b64)$/.test(file)) continue;
      out.push({ id: file, xml: readFixture({ file, encoding: file.endsWith('.b64') ? 'base64' : 'xml' }) });
    }
    for (const document of loadCorpusDocuments().documents) if (document.id.endsWith('(decrypted)')) out.push(document);
  }
  const fixtures = join(import.meta.dirname, '..', 'fixtures');
  for (const dir of readdirSync(fixtures, { recursive: true, encoding: 'utf8' })) {
    if (dir.endsWith('.xml')) out.push({ id: `fixtures/${dir}`, xml: readFileSync(join(fixtures, dir), 'utf8') });
  }
  for (const document of STRESS_DOCUMENTS) out.push({ id: `stress: ${document.id}`, xml: document.xml });
  const response = buildResponseXml();
  out.push(
    { id: 'builder: response', xml: response },
    { id: 'builder: assertion', xml: buildAssertionXml() },
    { id: 'builder: NameID with markup', xml: buildResponseXml({ nameIdXml: 'a&amp;b<!--c-->d<![CDATA[<e>]]>' }) },
    { id: 'builder: signed assertion', xml: sign(response, { target: 'assertion' }) },
    { id: 'builder: signed response', xml: sign(response, { target: 'response' }) },
    {
      id: 'builder: SHA-1',
      xml: sign(response, { target: 'response', signatureAlgorithm: ALGORITHMS.rsaSha1, digestAlgorithm: ALGORITHMS.sha1 }),
    },
    { id: 'builder: logout request', xml: buildLogoutRequestXml() },
    { id: 'builder: logout response', xml: buildLogoutResponseXml() },
  );
  HANDWRITTEN.forEach((xml, i) => out.push({ id: `handwritten #${i}`, xml }));
  return out;
}

const MUTATIONS = 6000;

test('the parser builds the tree xmldom built, and refuses only what XML 1.0 and Namespaces 1.0 call not well-formed', (t) => {
  if (!requireOrSkip(t, corpusPresent(), 'the SAML conformance corpus (../shared/conformance/saml)')) return;
  if (!requireOrSkip(t, hasCommand('python3'), 'python3 (its expat module referees well-formedness)')) return;
  const bases = baseDocuments();
  const random = seeded(0x1a2b3c);
  const small = bases.filter((document) => document.xml.length < 16 * 1024);
  const inputs = [...bases];
  for (let i = 0; i < MUTATIONS; i++) {
    const base = small[Math.floor(random() * small.length)]!;
    inputs.push({ id: `mutation #${i} of ${base.id}`, xml: mutate(base.xml, random) });
  }
  // Only what reaches a parser: parseXml's shared checks (size, NUL, DOCTYPE, XML_LIMITS) refuse the rest either way.
  const compared = inputs
    .map((input) => ({ ...input, text: input.xml.replace(/^\uFEFF/, '') }))
    .filter((input) => {
      const parsed = parseXml(input.xml);
      return parsed.ok || (parsed.error.code === 'xml_malformed' && !parsed.error.message.includes('NUL'));
    });
  const verdicts = viaExpat(compared.map((input) => xmldomLineEnds(input.text)));
  const failures: string[] = [];
  const fourthEdition: { label: string; text: string; expat: string }[] = [];
  const tally = { bothAccepted: 0, bothRefused: 0, stricter: new Map<string, number>() };
  compared.forEach((input, i) => {
    const expat = verdicts[i]!;
    const ours = viaLanyard(input.text);
    const theirs = viaXmldom(input.text);
    const label = `${input.id} ${JSON.stringify(input.text.length > 300 ? `${input.text.slice(0, 300)}…` : input.text)}`;
    if (ours.ok) {
      if (!theirs.ok) failures.push(`${label}: accepted, but xmldom refused (${theirs.reason})`);
      else if (ours.dump !== theirs.dump) failures.push(`${label}: the trees differ\n${firstDifference(ours.dump, theirs.dump)}`);
      if (expat !== 'ok') fourthEdition.push({ label, text: input.text, expat });
      tally.bothAccepted++;
    } else if (theirs.ok) {
      const rule = STRICTER.find(([pattern]) => pattern.test(ours.reason));
      if (expat === 'ok') failures.push(`${label}: refused (${ours.reason}), but xmldom and expat accepted`);
      else if (rule === undefined) failures.push(`${label}: refused (${ours.reason}) for no documented reason; xmldom accepted`);
      else tally.stricter.set(rule[1], (tally.stricter.get(rule[1]) ?? 0) + 1);
    } else tally.bothRefused++;
  });
  const asciiNames = viaExpat(
    fourthEdition.map(({ text }) => xmldomLineEnds(text).replace(NON_ASCII_NAME_CHAR, (c) => `x${c.codePointAt(0)!.toString(16)}`)),
  );
  fourthEdition.forEach(({ label, expat }, i) => {
    if (asciiNames[i] !== 'ok') failures.push(`${label}: accepted, but expat refused (${expat}; ${asciiNames[i]} with ASCII names)`);
  });
  console.log(
    `xml parser differential: ${compared.length} documents (${bases.length} base, ${MUTATIONS} mutations before the shared checks); ` +
      `${tally.bothAccepted} accepted alike (${fourthEdition.length} with names expat 2.5 does not know), ${tally.bothRefused} refused alike; ` +
      `stricter than xmldom:\n` +
      [...tally.stricter].map(([rule, count]) => `  ${count} × ${rule}`).join('\n'),
  );
  assert.deepEqual(failures.slice(0, 20), [], `${failures.length} failures`);
  // Each documented difference is one the inputs actually show (else the list has gone stale, or the inputs weak).
  assert.deepEqual(
    STRICTER.map(([, rule]) => rule).filter((rule) => !tally.stricter.has(rule)),
    [],
  );
  // The corpus must reach the comparison: every parsable corpus document is among the accepted ones.
  assert.ok(tally.bothAccepted >= bases.length - 10, `only ${tally.bothAccepted} accepted`);
});

/** XML 1.0 5th edition NameChar (§2.3) above U+00FF (code points one at a time, no grapheme meant). */
const NON_ASCII_NAME_CHAR =
  // eslint-disable-next-line no-misleading-character-class
  /[\u0100-\u037D\u037F-\u1FFF\u200C\u200D\u203F\u2040\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\u{10000}-\u{EFFFF}]/gu;

/** xmldom's normalizeLineEndings (lib/dom-parser.js), which both parsers apply. */
function xmldomLineEnds(text: string): string {
  return text.replace(/\r[\n\u0085]/g, '\n').replace(/[\r\u0085\u2028\u2029]/g, '\n');
}

function firstDifference(a: string, b: string): string {
  const left = a.split('\n');
  const right = b.split('\n');
  const i = left.findIndex((line, k) => line !== right[k]);
  return `  lanyard: ${left[i] ?? '(end)'}\n  xmldom:  ${right[i] ?? '(end)'}`;
}
