import { X509Certificate, createHash, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { canonicalize, c14nMethod, DEFAULT_REFERENCE_C14N, type C14nMethod } from './canonicalize.ts';
import { ok } from '../result.ts';
import { fail, type SamlResult } from './errors.ts';
import { attr, childElements, children, NS, textOf } from './xml.ts';
import type { XmlElement } from './xml-tree.ts';

/**
 * An IdP signing certificate pinned for a connection, parsed once when the connection is loaded
 * so that verifying a response costs one RSA verify, never a certificate parse.
 */
export interface TrustedCertificate {
  /** Upper-case, colon-separated SHA-256 of the DER certificate, as `X509Certificate.fingerprint256`. */
  readonly fingerprintSha256: string;
  readonly publicKey: KeyObject;
  /** For display only. */
  readonly subject?: string;
}

/**
 * Builds a {@link TrustedCertificate} from a PEM certificate, the bare base64 DER found in SAML
 * metadata `<ds:X509Certificate>`, DER bytes, or an `X509Certificate`. Validity dates are not
 * checked: pinning is the trust anchor, and IdPs routinely keep signing with expired certificates.
 */
export function trustedCertificate(input: string | Buffer | X509Certificate): SamlResult<TrustedCertificate> {
  try {
    const certificate = input instanceof X509Certificate ? input : new X509Certificate(toCertificateBytes(input));
    return ok({
      fingerprintSha256: certificate.fingerprint256,
      publicKey: certificate.publicKey,
      subject: certificate.subject.replace(/\n/g, ', '),
    });
  } catch (error) {
    return fail('saml_invalid_trusted_certificate', `The certificate could not be read: ${(error as Error).message}.`);
  }
}

function toCertificateBytes(input: string | Buffer): string | Buffer {
  if (typeof input !== 'string' || input.includes('-----BEGIN')) return input;
  return Buffer.from(input.replace(/\s+/g, ''), 'base64');
}

/** XML-DSig signature algorithms (RFC 6931 §2.3) mapped to the node:crypto digest they use. */
export const SIGNATURE_ALGORITHMS: ReadonlyMap<string, string> = new Map([
  ['http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', 'sha256'],
  ['http://www.w3.org/2001/04/xmldsig-more#rsa-sha384', 'sha384'],
  ['http://www.w3.org/2001/04/xmldsig-more#rsa-sha512', 'sha512'],
  ['http://www.w3.org/2000/09/xmldsig#rsa-sha1', 'sha1'],
]);

/** XML-DSig / XML-Enc digest algorithms (RFC 6931 §2.1). Also used by decrypt.ts for OAEP. */
export const DIGEST_ALGORITHMS: ReadonlyMap<string, string> = new Map([
  ['http://www.w3.org/2001/04/xmlenc#sha256', 'sha256'],
  ['http://www.w3.org/2001/04/xmldsig-more#sha384', 'sha384'],
  ['http://www.w3.org/2001/04/xmlenc#sha512', 'sha512'],
  ['http://www.w3.org/2000/09/xmldsig#sha1', 'sha1'],
]);

const ENVELOPED_SIGNATURE = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const EXC_C14N_NS = 'http://www.w3.org/2001/10/xml-exc-c14n#';

/** What a verifier needs besides the XML: the pinned keys and the SHA-1 policy. */
export interface SignatureTrust {
  readonly trustedCerts: readonly TrustedCertificate[];
  readonly allowSha1: boolean;
}

/** A ds:Signature read structurally, with every algorithm already accepted, nothing verified yet. */
export interface UnverifiedSignature {
  readonly signature: XmlElement;
  readonly signedElement: XmlElement;
  readonly signedInfo: XmlElement;
  readonly signedInfoC14n: C14nMethod;
  readonly signedInfoPrefixes: readonly string[];
  readonly signatureHash: string;
  readonly signatureValue: Buffer;
  readonly enveloped: boolean;
  readonly referenceC14n: C14nMethod;
  readonly referencePrefixes: readonly string[];
  readonly digestHash: string;
  readonly digestValue: Buffer;
}

/**
 * Reads the ds:Signature that is a direct child of `signedElement` and checks, before any crypto,
 * everything that decides *what* would be verified: one SignedInfo, exactly one Reference whose URI
 * names `signedElement` itself ("#" + its ID, or "" when it is the document element), only the
 * enveloped-signature and c14n transforms, and accepted algorithms. So the element the caller then
 * reads is, by construction, the element the signature covers (no signature wrapping).
 */
export function readSignature(signature: XmlElement, signedElement: XmlElement, policy: SignatureTrust): SamlResult<UnverifiedSignature> {
  const where = describe(signedElement);
  const parts = signatureParts(signature);
  if (parts === undefined)
    return fail(
      'saml_signature_malformed',
      `The signature in ${where} must contain exactly one SignedInfo followed by one SignatureValue.`,
    );
  const { signedInfo, signatureValueElement } = parts;
  const info = readSignedInfo(signedInfo, where, policy);
  if (!info.ok) return info;
  const reference = readReference(info.value.reference, signedElement, where, policy);
  if (!reference.ok) return reference;
  const signatureValue = decodeBase64(textOf(signatureValueElement));
  if (signatureValue === undefined) return fail('saml_signature_malformed', `The SignatureValue in ${where} is not valid base64.`);
  return ok({ signature, signedElement, signedInfo, ...info.value, signatureValue, ...reference.value });
}

function signatureParts(signature: XmlElement): { signedInfo: XmlElement; signatureValueElement: XmlElement } | undefined {
  const elements = childElements(signature);
  const [signedInfo, signatureValueElement, ...rest] = elements;
  if (signedInfo === undefined || signatureValueElement === undefined) return undefined;
  if (!isDs(signedInfo, 'SignedInfo') || !isDs(signatureValueElement, 'SignatureValue')) return undefined;
  // XML-DSig 1.1 §4.2: the rest is at most a KeyInfo and Objects; a second SignedInfo anywhere here is an attack.
  if (!rest.every((el, i) => (i === 0 && isDs(el, 'KeyInfo')) || isDs(el, 'Object'))) return undefined;
  return { signedInfo, signatureValueElement };
}

function readSignedInfo(signedInfo: XmlElement, where: string, policy: SignatureTrust) {
  const [c14nElement, methodElement, ...references] = childElements(signedInfo);
  if (
    !isDs(c14nElement, 'CanonicalizationMethod') ||
    !isDs(methodElement, 'SignatureMethod') ||
    !references.every((el) => isDs(el, 'Reference'))
  ) {
    return fail('saml_signature_malformed', `The SignedInfo in ${where} does not have the structure XML-DSig requires.`);
  }
  const [reference, ...more] = references;
  if (reference === undefined || more.length > 0) {
    return fail(
      'saml_signature_wrapping',
      `The signature in ${where} has ${references.length} References; exactly one, to the element it sits in, is accepted.`,
    );
  }
  const c14nUri = attr(c14nElement, 'Algorithm') ?? '';
  const signedInfoC14n = c14nMethod(c14nUri);
  if (signedInfoC14n === undefined) return unsupported(`canonicalization method "${c14nUri}"`, where);
  const methodUri = attr(methodElement, 'Algorithm') ?? '';
  const signatureHash = SIGNATURE_ALGORITHMS.get(methodUri);
  if (signatureHash === undefined) return unsupported(`signature algorithm "${methodUri}"`, where);
  if (signatureHash === 'sha1' && !policy.allowSha1) return sha1Refused('signature algorithm', methodUri, where);
  return ok({ signedInfoC14n, signedInfoPrefixes: prefixList(c14nElement), signatureHash, reference });
}

function readReference(reference: XmlElement, signedElement: XmlElement, where: string, policy: SignatureTrust) {
  const uri = attr(reference, 'URI');
  const id = attr(signedElement, 'ID');
  const isDocumentElement = signedElement.ownerDocument.documentElement === signedElement;
  // SAML core §5.4.2: one same-document reference to the ID of the signed root element. "#id"
  // (IDs were checked unique over the whole document beforehand), or "" (XML-DSig 1.1 §4.4.3.3:
  // the whole document minus comments), accepted only when the Signature sits in the document
  // element; the document then holds nothing else that c14n would output, since the index pass
  // refuses processing instructions outside the root.
  if (!((uri !== undefined && id !== undefined && uri === `#${id}`) || (uri === '' && isDocumentElement))) {
    return fail(
      'saml_signature_wrapping',
      `The signature in ${where} references "${uri ?? '(none)'}" instead of the element it is part of.`,
      { referenceUri: uri ?? null, id: id ?? null },
    );
  }
  const elements = childElements(reference);
  const transformsElement = elements[0] !== undefined && isDs(elements[0], 'Transforms') ? elements.shift() : undefined;
  const [digestMethod, digestValueElement, ...rest] = elements;
  if (!isDs(digestMethod, 'DigestMethod') || !isDs(digestValueElement, 'DigestValue') || rest.length > 0) {
    return fail('saml_signature_malformed', `The Reference in ${where} does not have the structure XML-DSig requires.`);
  }
  const transforms = readTransforms(transformsElement, where);
  if (!transforms.ok) return transforms;
  const digestUri = attr(digestMethod, 'Algorithm') ?? '';
  const digestHash = DIGEST_ALGORITHMS.get(digestUri);
  if (digestHash === undefined) return unsupported(`digest algorithm "${digestUri}"`, where);
  if (digestHash === 'sha1' && !policy.allowSha1) return sha1Refused('digest algorithm', digestUri, where);
  // textOf ignores comments: a comment hidden in DigestValue never changes the value read (CVE-2025-29775).
  const digestValue = decodeBase64(textOf(digestValueElement));
  if (digestValue === undefined) return fail('saml_signature_malformed', `The DigestValue in ${where} is not valid base64.`);
  return ok({ ...transforms.value, digestHash, digestValue });
}

/**
 * Only [enveloped-signature] then [one c14n] are accepted, in that order, each optional: XPath,
 * XSLT, base64 and friends let a signature cover something other than what is consumed (and XSLT
 * runs code), and SAML signatures never need them (SAML core §5.4.4).
 */
function readTransforms(transformsElement: XmlElement | undefined, where: string) {
  const transforms = transformsElement === undefined ? [] : childElements(transformsElement);
  let enveloped = false;
  let referenceC14n: C14nMethod | undefined;
  let referencePrefixes: string[] = [];
  for (const transform of transforms) {
    const uri = isDs(transform, 'Transform') ? (attr(transform, 'Algorithm') ?? '') : `<${(transform as XmlElement).nodeName}>`;
    const method = c14nMethod(uri);
    if (uri === ENVELOPED_SIGNATURE && !enveloped && referenceC14n === undefined) enveloped = true;
    else if (method !== undefined && referenceC14n === undefined) {
      referenceC14n = method;
      referencePrefixes = prefixList(transform);
    } else return unsupported(`transform "${uri}"`, where);
  }
  return ok({ enveloped, referenceC14n: referenceC14n ?? DEFAULT_REFERENCE_C14N, referencePrefixes });
}

/**
 * Verifies a signature read by {@link readSignature}: first SignatureValue over the canonical
 * SignedInfo with each pinned key (never a key from KeyInfo), then the Reference digest over the
 * canonical signed element. Authenticating SignedInfo before canonicalizing the (large, attacker
 * supplied) signed element follows W3C XML Signature Best Practices §2.1, Best Practice 1, and
 * lets an "untrusted certificate" diagnosis win over a digest mismatch. Returns the fingerprint of
 * the pinned certificate that verified.
 */
export function verifySignature(unverified: UnverifiedSignature, policy: SignatureTrust): SamlResult<{ fingerprintSha256: string }> {
  const where = describe(unverified.signedElement);
  const canonicalSignedInfo = canonicalize(unverified.signedInfo, unverified.signedInfoC14n, {
    inclusivePrefixes: unverified.signedInfoPrefixes,
  });
  if (!canonicalSignedInfo.ok) return canonicalSignedInfo;
  const signedBytes = Buffer.from(canonicalSignedInfo.value, 'utf8');
  const trusted = policy.trustedCerts.find((cert) =>
    rsaVerifies(unverified.signatureHash, signedBytes, cert.publicKey, unverified.signatureValue),
  );
  if (trusted === undefined) return explainUntrusted(unverified, signedBytes, policy, where);
  const canonicalElement = canonicalize(unverified.signedElement, unverified.referenceC14n, {
    ...(unverified.enveloped ? { omitChild: unverified.signature } : {}),
    inclusivePrefixes: unverified.referencePrefixes,
    dropComments: true,
  });
  if (!canonicalElement.ok) return canonicalElement;
  const digest = createHash(unverified.digestHash).update(canonicalElement.value, 'utf8').digest();
  if (digest.length !== unverified.digestValue.length || !timingSafeEqual(digest, unverified.digestValue)) {
    return fail(
      'saml_digest_mismatch',
      `${capitalize(where)} was changed after the identity provider signed it (its digest does not match the signed digest).`,
    );
  }
  return ok({ fingerprintSha256: trusted.fingerprintSha256 });
}

function rsaVerifies(hash: string, data: Buffer, key: KeyObject, signature: Buffer): boolean {
  if (key.asymmetricKeyType !== 'rsa') return false;
  try {
    return verify(hash, data, key, signature);
  } catch {
    return false;
  }
}

/**
 * Builds the admin-facing explanation when no pinned key verifies. The KeyInfo certificate is
 * parsed only to name it in the message (and to tell "signed by another key" from "altered"); it
 * never decides acceptance.
 */
function explainUntrusted(unverified: UnverifiedSignature, signedBytes: Buffer, policy: SignatureTrust, where: string): SamlResult<never> {
  const pinned = policy.trustedCerts.map((cert) => cert.fingerprintSha256);
  const pinnedText =
    pinned.length === 0 ? 'no certificate is configured for this connection' : `this connection trusts ${pinned.join(', ')}`;
  const embedded = keyInfoCertificate(unverified.signature);
  if (embedded !== undefined && !pinned.includes(embedded.fingerprint256)) {
    const signedByEmbedded = rsaVerifies(unverified.signatureHash, signedBytes, embedded.publicKey, unverified.signatureValue);
    const detail = { keyInfoFingerprintSha256: embedded.fingerprint256, trustedFingerprintsSha256: pinned };
    if (signedByEmbedded) {
      return fail(
        'saml_untrusted_certificate',
        `${capitalize(where)} was signed by a certificate with SHA-256 fingerprint ${embedded.fingerprint256} ` +
          `(${embedded.subject.replace(/\n/g, ', ')}); ${pinnedText}. If the identity provider rotated its signing certificate, ` +
          `upload the new one.`,
        detail,
      );
    }
    return fail(
      'saml_signature_invalid',
      `The signature on ${where} does not verify with the pinned certificate; it names a certificate with SHA-256 fingerprint ` +
        `${embedded.fingerprint256}, and ${pinnedText}.`,
      detail,
    );
  }
  return fail(
    'saml_signature_invalid',
    `The signature on ${where} does not verify with the pinned certificate (${pinnedText}): the signed information was altered ` +
      `or signed with another key.`,
    { trustedFingerprintsSha256: pinned },
  );
}

function keyInfoCertificate(signature: XmlElement): X509Certificate | undefined {
  const keyInfo = children(signature, NS.ds, 'KeyInfo')[0];
  const data = keyInfo === undefined ? undefined : children(keyInfo, NS.ds, 'X509Data')[0];
  const certificate = data === undefined ? undefined : children(data, NS.ds, 'X509Certificate')[0];
  if (certificate === undefined) return undefined;
  try {
    return new X509Certificate(Buffer.from(textOf(certificate).replace(/\s+/g, ''), 'base64'));
  } catch {
    return undefined;
  }
}

function prefixList(method: XmlElement): string[] {
  const inclusive = children(method, EXC_C14N_NS, 'InclusiveNamespaces')[0];
  const list = inclusive === undefined ? undefined : attr(inclusive, 'PrefixList');
  return list === undefined ? [] : list.split(/\s+/).filter((prefix) => prefix !== '');
}

/** Strict base64 (whitespace allowed, as XML-DSig base64Binary values are often wrapped). */
function decodeBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact === '' || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined;
  return Buffer.from(compact, 'base64');
}

function isDs(element: XmlElement | undefined, localName: string): element is XmlElement {
  return element !== undefined && element.namespaceURI === NS.ds && element.localName === localName;
}

function describe(element: XmlElement): string {
  return `the ${element.localName} ${attr(element, 'ID') ?? ''}`.trimEnd();
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function unsupported(what: string, where: string) {
  return fail(
    'saml_unsupported_algorithm',
    `The signature in ${where} uses ${what}, which Lanyard does not accept. Configure the identity provider to sign with ` +
      `RSA-SHA256 and exclusive canonicalization.`,
  );
}

function sha1Refused(what: string, uri: string, where: string) {
  return fail(
    'saml_sha1_not_allowed',
    `The signature in ${where} uses SHA-1 (${what} ${uri}). Configure the identity provider to use SHA-256, or allow SHA-1 for this connection.`,
    { algorithm: uri },
  );
}
