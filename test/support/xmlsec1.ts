/**
 * xmlsec1 (libxmlsec1 over libxml2's canonicalizer; Debian package `xmlsec1`) as an independent
 * oracle for canonical bytes. xmlsec1 has no "canonicalize" command, but with `--store-references
 * --store-signatures --print-debug` it prints, for the signature it processes, each Reference's
 * pre-digest octets and the canonical SignedInfo, framed by
 * "== PreDigest data - start buffer:\n" … "\n== PreDigest data - end buffer" (and "PreSigned").
 *
 * - {@link xmlsecVerify}: the buffers of one ds:Signature of a document, as a verifier computes them.
 * - {@link xmlsecSign}: signs a template, for signed documents in c14n variants our builder cannot make.
 * - {@link xmlsecCanonicalize}: canonical bytes of any element subtree with any method, via a probe
 *   signature appended to the root, one Reference per case: URI="#xpointer(/*[1]/*[i]…)" (the
 *   element's subtree, comments included, XML-DSig 1.1 §4.4.3.3), then an XPath Filter 2.0
 *   "subtract" of the probe and of the omitted child, then the c14n transform (a method without
 *   comments drops them). Signing processes every Reference, so one run canonicalizes a batch.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { NS } from '../../src/domain/saml/xml.ts';
import { hasCommand } from './environment.ts';

/** Why the xmlsec1 tests skip (or fail in CI): the reason shown by requireOrSkip. */
export const XMLSEC1_MISSING = 'xmlsec1 is not installed (Debian package xmlsec1; .ci/run installs it)';

/** True when xmlsec1 is on PATH. */
export function hasXmlsec1(): boolean {
  return hasCommand('xmlsec1');
}

/** What one xmlsec1 run canonicalized: each Reference's pre-digest octets in order, and SignedInfo's. */
export interface XmlsecBuffers {
  readonly preDigest: string[];
  readonly preSigned: string | undefined;
  /** xmlsec1's verdict lines and errors, for skip reasons and failure messages. */
  readonly log: string;
}

/** SAML ID attributes, so that "#id" references resolve (xmlsec1 has no schema to know them). */
const SAML_IDS = ['--id-attr:ID', `${NS.saml}:Assertion`, '--id-attr:ID', `${NS.samlp}:Response`];
const DEBUG = ['--store-references', '--store-signatures', '--print-debug'];
const TIMEOUT_MS = 20_000;

/** Runs xmlsec1 with `xml` as its input file (`{in}` and `{out}` in `args` name the files). */
async function runXmlsec1(args: readonly string[], xml: string): Promise<{ stdout: string; log: string; output: string | undefined }> {
  const dir = await mkdtemp(join(tmpdir(), 'lanyard-xmlsec1-'));
  try {
    const input = join(dir, 'in.xml');
    const output = join(dir, 'out.xml');
    await writeFile(input, xml, 'utf8');
    const argv = args.map((arg) => (arg === '{in}' ? input : arg === '{out}' ? output : arg));
    const { stdout, stderr } = await new Promise<{ stdout: Buffer; stderr: Buffer }>((resolve, reject) => {
      execFile('xmlsec1', argv, { encoding: 'buffer', timeout: TIMEOUT_MS, maxBuffer: 256 * 1024 * 1024 }, (error, out, err) => {
        // A failed verification exits non-zero but still prints what was canonicalized; only a kill is fatal.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an ExecFileException is an Error; its type hides it
        if (error !== null && (error.killed || typeof error.code !== 'number')) reject(error);
        else resolve({ stdout: out, stderr: err });
      });
    });
    const text = stdout.toString('utf8');
    const verdict = text.split('\n').filter((line) => /^(OK|FAIL|ERROR|SignedInfo References|Error)/.test(line));
    const written = await readFile(output, 'utf8').catch(() => undefined);
    return { stdout: text, log: [...verdict, stderr.toString('utf8').trim()].join('\n'), output: written };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The buffers framed in xmlsec1's debug output. */
export function parseXmlsecDebug(stdout: string, log: string): XmlsecBuffers {
  const framed = (name: string): string[] => {
    const start = `== ${name} data - start buffer:\n`;
    const end = `\n== ${name} data - end buffer\n`;
    const out: string[] = [];
    for (let at = stdout.indexOf(start); at >= 0; at = stdout.indexOf(start, at)) {
      const from = at + start.length;
      const to = stdout.indexOf(end, from);
      if (to < 0) throw new Error(`unterminated ${name} buffer in xmlsec1 output`);
      out.push(stdout.slice(from, to));
      at = to + end.length;
    }
    return out;
  };
  const preSigned = framed('PreSigned');
  if (preSigned.length > 1) throw new Error('xmlsec1 printed more than one SignedInfo');
  return { preDigest: framed('PreDigest'), preSigned: preSigned[0], log };
}

/** The XPath selecting the n-th (0-based) ds:Signature in document order. */
export function nthSignatureXpath(index: number): string {
  return `(//*[local-name()='Signature' and namespace-uri()='${NS.ds}'])[${index + 1}]`;
}

/** What xmlsec1 canonicalizes when verifying the `signatureIndex`-th ds:Signature of `xml` with the certificate in `certFile`. */
export async function xmlsecVerify(xml: string, signatureIndex: number, certFile: string): Promise<XmlsecBuffers> {
  const run = await runXmlsec1(
    ['verify', ...DEBUG, '--pubkey-cert-pem', certFile, ...SAML_IDS, '--node-xpath', nthSignatureXpath(signatureIndex), '{in}'],
    xml,
  );
  return parseXmlsecDebug(run.stdout, run.log);
}

/** Signs the ds:Signature template at `signatureXpath` with the PEM key in `keyFile`; returns the signed document and the buffers. */
export async function xmlsecSign(
  template: string,
  signatureXpath: string,
  keyFile: string,
): Promise<{ signed: string; buffers: XmlsecBuffers }> {
  const run = await runXmlsec1(
    ['sign', ...DEBUG, '--privkey-pem', keyFile, ...SAML_IDS, '--node-xpath', signatureXpath, '--output', '{out}', '{in}'],
    template,
  );
  if (run.output === undefined) throw new Error(`xmlsec1 could not sign:\n${run.log}`);
  return { signed: run.output, buffers: parseXmlsecDebug(run.stdout, run.log) };
}

/** One subtree canonicalization for {@link xmlsecCanonicalize}: paths are child-element indexes from the root. */
export interface ProbeCase {
  readonly path: readonly number[];
  readonly omitPath?: readonly number[];
  readonly methodUri: string;
  readonly exclusive: boolean;
  readonly withComments: boolean;
  /** The PrefixList as written (exclusive only). */
  readonly prefixes: readonly string[];
}

/**
 * xmlsec1's canonical bytes for each case over `xml`, whose root element must end with an end tag.
 * `keyFile` is any RSA key: the probe signature only exists to make xmlsec1 process the References.
 */
export async function xmlsecCanonicalize(xml: string, cases: readonly ProbeCase[], keyFile: string): Promise<string[]> {
  const close = xml.lastIndexOf('</');
  if (close < 0) throw new Error('the probe needs a root element with an end tag');
  const probe = `<ds:Signature xmlns:ds="${NS.ds}"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>${cases.map(probeReference).join('')}</ds:SignedInfo><ds:SignatureValue/></ds:Signature>`;
  const { buffers } = await xmlsecSign(xml.slice(0, close) + probe + xml.slice(close), '/*[1]/*[last()]', keyFile);
  if (buffers.preDigest.length !== cases.length)
    throw new Error(`xmlsec1 canonicalized ${buffers.preDigest.length} of ${cases.length} cases:\n${buffers.log}`);
  return buffers.preDigest;
}

function probeReference(probeCase: ProbeCase): string {
  const path = (indexes: readonly number[]) => `/*[1]${indexes.map((index) => `/*[${index + 1}]`).join('')}`;
  // The probe signature is the root's last child, so only a root apex contains it.
  const subtract = [
    ...(probeCase.path.length === 0 ? ['/*[1]/*[last()]'] : []),
    ...(probeCase.omitPath === undefined ? [] : [path(probeCase.omitPath)]),
  ];
  const filter =
    subtract.length === 0
      ? ''
      : `<ds:Transform Algorithm="http://www.w3.org/2002/06/xmldsig-filter2"><f:XPath xmlns:f="http://www.w3.org/2002/06/xmldsig-filter2" Filter="subtract">${subtract.join(' | ')}</f:XPath></ds:Transform>`;
  const prefixList =
    probeCase.exclusive && probeCase.prefixes.length > 0
      ? `<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="${probeCase.prefixes.join(' ')}"/>`
      : '';
  return (
    `<ds:Reference URI="#xpointer(${path(probeCase.path)})"><ds:Transforms>${filter}` +
    `<ds:Transform Algorithm="${probeCase.methodUri}">${prefixList}</ds:Transform></ds:Transforms>` +
    `<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>`
  );
}

/** Runs `work` over `items` with at most as many in flight as there are CPUs (xmlsec1 runs are separate processes). */
export async function mapConcurrently<T, R>(items: readonly T[], work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) results[index] = await work(items[index]!, index);
  };
  await Promise.all(Array.from({ length: Math.min(items.length, Math.max(2, availableParallelism())) }, worker));
  return results;
}
