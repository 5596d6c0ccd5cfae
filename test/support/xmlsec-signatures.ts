/**
 * Compares, for one ds:Signature of a document, the bytes xmlsec1 canonicalizes when verifying it
 * (each Reference's pre-digest data and SignedInfo) with Lanyard's canonicalize() on the same
 * inputs, the way signature.ts derives them (same-document references dereference without
 * comments, XML-DSig 1.1 §4.4.3.3; no c14n transform means Canonical XML 1.0, §4.4.3.2).
 */
import { createHash } from 'node:crypto';
import { canonicalize, c14nMethod, DEFAULT_REFERENCE_C14N, type C14nMethod } from '../../src/domain/saml/canonicalize.ts';
import { DIGEST_ALGORITHMS } from '../../src/domain/saml/signature.ts';
import { attr, children, descendants, NS } from '../../src/domain/saml/xml.ts';
import type { XmlElement, XmlParent } from '../../src/domain/saml/xml-tree.ts';
import { parseDocument } from './c14n-cases.ts';
import { asXmldom, serializeXml } from './xmldom.ts';
import { xmlsecVerify } from './xmlsec1.ts';

const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const EXC_C14N_NS = 'http://www.w3.org/2001/10/xml-exc-c14n#';

/** The outcome for one signature: what matched, what could not be compared (and why), what differed. */
export interface SignatureComparison {
  readonly compared: string[];
  readonly skipped: { readonly what: string; readonly reason: string }[];
  readonly failures: string[];
}

interface C14nInput {
  readonly apex: XmlElement;
  readonly method: C14nMethod;
  readonly prefixes: readonly string[];
  readonly omitChild?: XmlElement;
}

/** The ds:Signature elements of a document, in document order. */
export function signaturesOf(root: XmlElement): XmlElement[] {
  return [...descendants(root)].filter((el) => el.namespaceURI === NS.ds && el.localName === 'Signature');
}

/** Compares xmlsec1 and Lanyard on the `index`-th signature of `xml`; `label` prefixes every line. */
export async function compareSignature(label: string, xml: string, index: number, certFile: string): Promise<SignatureComparison> {
  const out: SignatureComparison = { compared: [], skipped: [], failures: [] };
  const buffers = await xmlsecVerify(xml, index, certFile);
  const { signature, signedInfo, references } = partsOf(xml, index);
  references.forEach((reference, k) => {
    const what = `${label} Reference ${k} (URI="${attr(reference, 'URI') ?? ''}")`;
    const input = referenceInput(reference, signature);
    const expected = buffers.preDigest[k];
    if (typeof input === 'string') out.skipped.push({ what, reason: input });
    else if (expected === undefined) out.skipped.push({ what, reason: `xmlsec1 did not canonicalize it: ${firstLine(buffers.log)}` });
    else compare(out, what, input, expected);
  });
  let preSigned = buffers.preSigned;
  let signedInfoXml = xml;
  // xmlsec1 checks every digest before it canonicalizes SignedInfo: when a digest does not match (a
  // tampered fixture), give it the digests of what it canonicalized and ask again.
  if (preSigned === undefined && buffers.preDigest.length === references.length && references.length > 0) {
    signedInfoXml = withDigests(xml, index, buffers.preDigest);
    preSigned = (await xmlsecVerify(signedInfoXml, index, certFile)).preSigned;
  }
  const what = `${label} SignedInfo${signedInfoXml === xml ? '' : ' (digests replaced by those of the references)'}`;
  const input = signedInfoInput(signedInfoXml === xml ? signedInfo : partsOf(signedInfoXml, index).signedInfo);
  if (typeof input === 'string') out.skipped.push({ what, reason: input });
  else if (preSigned === undefined) out.skipped.push({ what, reason: `xmlsec1 did not canonicalize it: ${firstLine(buffers.log)}` });
  else compare(out, what, input, preSigned);
  return out;
}

function compare(out: SignatureComparison, what: string, input: C14nInput, expected: string): void {
  const result = canonicalize(input.apex, input.method, {
    ...(input.omitChild === undefined ? {} : { omitChild: input.omitChild }),
    inclusivePrefixes: input.prefixes,
    dropComments: true,
  });
  if (!result.ok) out.failures.push(`${what}: refused (${result.error.code}: ${result.error.message})`);
  else if (result.value !== expected) out.failures.push(`${what}\n  lanyard: ${result.value}\n  xmlsec1: ${expected}`);
  else out.compared.push(what);
}

function partsOf(xml: string, index: number): { signature: XmlElement; signedInfo: XmlElement | undefined; references: XmlElement[] } {
  const signature = signaturesOf(parseDocument(xml).root)[index]!;
  const signedInfo = children(signature, NS.ds, 'SignedInfo')[0];
  return { signature, signedInfo, references: signedInfo === undefined ? [] : children(signedInfo, NS.ds, 'Reference') };
}

function signedInfoInput(signedInfo: XmlElement | undefined): C14nInput | string {
  if (signedInfo === undefined) return 'no SignedInfo';
  const methodElement = children(signedInfo, NS.ds, 'CanonicalizationMethod')[0];
  const method = methodElement === undefined ? undefined : c14nMethod(attr(methodElement, 'Algorithm') ?? '');
  if (method === undefined || methodElement === undefined) return 'no canonicalization method Lanyard accepts';
  return { apex: signedInfo, method, prefixes: prefixList(methodElement) };
}

/**
 * What the reference canonicalizes: the document element for URI="", else the SAML Response or
 * Assertion with that ID (the only ID attributes xmlsec1 is told about).
 */
function referenceInput(reference: XmlElement, signature: XmlElement): C14nInput | string {
  const uri = attr(reference, 'URI');
  const root = signature.ownerDocument.documentElement!;
  const targets =
    uri === ''
      ? [root]
      : [...descendants(root)].filter(
          (el) => (el.namespaceURI === NS.saml || el.namespaceURI === NS.samlp) && uri === `#${attr(el, 'ID')}`,
        );
  if (targets.length !== 1) return `URI "${uri ?? '(none)'}" names ${targets.length} elements`;
  const apex = targets[0]!;
  let method = DEFAULT_REFERENCE_C14N;
  let prefixes: string[] = [];
  let enveloped = false;
  const transforms = children(reference, NS.ds, 'Transforms')[0];
  for (const transform of transforms === undefined ? [] : children(transforms, NS.ds, 'Transform')) {
    const algorithm = attr(transform, 'Algorithm') ?? '';
    const c14n = c14nMethod(algorithm);
    if (algorithm === ENVELOPED) enveloped = true;
    else if (c14n === undefined) return `transform ${algorithm} is not one Lanyard accepts`;
    else [method, prefixes] = [c14n, prefixList(transform)];
  }
  if (!enveloped || !contains(apex, signature)) return { apex, method, prefixes };
  if (signature.parentNode !== apex) return 'the enveloped signature is not a child of the element it signs';
  return { apex, method, prefixes, omitChild: signature };
}

function contains(ancestor: XmlElement, node: XmlElement): boolean {
  for (let current: XmlParent | null = node; current !== null; current = current.parentNode) if (current === ancestor) return true;
  return false;
}

function prefixList(method: XmlElement): string[] {
  const inclusive = children(method, EXC_C14N_NS, 'InclusiveNamespaces')[0];
  return (inclusive === undefined ? '' : (attr(inclusive, 'PrefixList') ?? '')).split(/\s+/).filter(Boolean);
}

/** `xml` re-serialized with each DigestValue of the signature set to the digest of `preDigest`. */
function withDigests(xml: string, index: number, preDigest: readonly string[]): string {
  const { document, root } = parseDocument(xml);
  const signedInfo = children(signaturesOf(root)[index]!, NS.ds, 'SignedInfo')[0]!;
  children(signedInfo, NS.ds, 'Reference').forEach((reference, k) => {
    const hash = DIGEST_ALGORITHMS.get(attr(children(reference, NS.ds, 'DigestMethod')[0]!, 'Algorithm') ?? '') ?? 'sha256';
    const value = asXmldom(children(reference, NS.ds, 'DigestValue')[0]!);
    while (value.firstChild !== null) value.removeChild(value.firstChild);
    value.appendChild(value.ownerDocument!.createTextNode(createHash(hash).update(preDigest[k]!, 'utf8').digest('base64')));
  });
  return serializeXml(document);
}

/** The first error xmlsec1 reported, leaving out its complaint that a KeyInfo certificate is self-signed (it verifies with the pinned one). */
function firstLine(log: string): string {
  const lines = log.split('\n').filter((line) => !line.includes('x509vfy.c'));
  return lines.find((line) => line.startsWith('func=') || line.startsWith('Error')) ?? lines[0] ?? '';
}
