/**
 * Builds SAML Responses for tests: a template IdP response, signed with xml-crypto's SignedXml
 * (fine for producing signatures) using the committed test-only keys in test/fixtures/keys, and
 * encrypted with node:crypto. Every option has a realistic default so a test states only what
 * its case changes.
 */
import {
  createCipheriv,
  createPrivateKey,
  createPublicKey,
  constants,
  publicEncrypt,
  randomBytes,
  type KeyObject,
  X509Certificate,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignedXml } from 'xml-crypto';
import { escapeXml } from '../../src/domain/saml/xml.ts';
import { trustedCertificate, type TrustedCertificate } from '../../src/domain/saml/signature.ts';
import type { VerifySamlResponseInput } from '../../src/domain/saml/verify-response.ts';

const keysDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'keys');
const read = (name: string) => readFileSync(join(keysDir, name), 'utf8');

/** The committed test-only key pairs (see test/fixtures/keys/README.md). */
export const testKeys = {
  idpKeyPem: read('idp-test.key.pem'),
  idpCertPem: read('idp-test.cert.pem'),
  attackerKeyPem: read('attacker-test.key.pem'),
  attackerCertPem: read('attacker-test.cert.pem'),
  spKey: createPrivateKey(read('sp-test.key.pem')),
  spPublicKey: createPublicKey(read('sp-test.cert.pem')),
  attackerSpKey: createPrivateKey(read('attacker-test.key.pem')),
};

function pin(pem: string): TrustedCertificate {
  const result = trustedCertificate(pem);
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

export const idpTrustedCert = pin(testKeys.idpCertPem);
export const attackerFingerprint = new X509Certificate(testKeys.attackerCertPem).fingerprint256;

export const NOW = new Date('2030-01-01T12:00:00.000Z');
export const IDP = 'https://idp.example.test/metadata';
export const SP = 'https://lanyard.example.test/saml/sp';
export const ACS = 'https://lanyard.example.test/saml/acs';
export const REQUEST_ID = '_req-5f1c2a';

const at = (offsetSeconds: number) => new Date(NOW.getTime() + offsetSeconds * 1000).toISOString();

/** The things a test may change in the template; `null` leaves the attribute or element out. */
export interface ResponseOptions {
  responseId?: string;
  assertionId?: string;
  responseIssuer?: string | null;
  assertionIssuer?: string | null;
  destination?: string | null;
  inResponseTo?: string | null;
  scdInResponseTo?: string | null;
  recipient?: string | null;
  audience?: string | null;
  notBefore?: string;
  notOnOrAfter?: string;
  scdNotOnOrAfter?: string | null;
  /** Raw XML for the NameID content (already escaped). */
  nameIdXml?: string;
  status?: { code: string; subCode?: string; message?: string };
  /** Raw XML inserted into the Response right after its Issuer (e.g. samlp:Extensions). */
  responseExtraXml?: string;
  /** Omit the assertion entirely. */
  noAssertion?: boolean;
}

const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

const optionalAttr = (name: string, value: string | null) => (value === null ? '' : ` ${name}="${escapeXml(value)}"`);

/** The assertion as a self-contained element (it declares its own namespaces, so it survives being moved or encrypted). */
export function buildAssertionXml(o: ResponseOptions = {}): string {
  const issuer = o.assertionIssuer === undefined ? IDP : o.assertionIssuer;
  const audience = o.audience === undefined ? SP : o.audience;
  const scdNotOnOrAfter = o.scdNotOnOrAfter === undefined ? at(180) : o.scdNotOnOrAfter;
  const scdInResponseTo =
    o.scdInResponseTo === undefined ? (o.inResponseTo === undefined ? REQUEST_ID : o.inResponseTo) : o.scdInResponseTo;
  return (
    `<saml:Assertion xmlns:saml="${SAML}" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${o.assertionId ?? '_assertion-7d3e'}" Version="2.0" IssueInstant="${at(-5)}">` +
    (issuer === null ? '' : `<saml:Issuer>${escapeXml(issuer)}</saml:Issuer>`) +
    `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${o.nameIdXml ?? 'alice@example.com'}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData` +
    `${optionalAttr('InResponseTo', scdInResponseTo)}${optionalAttr('NotOnOrAfter', scdNotOnOrAfter)}${optionalAttr('Recipient', o.recipient === undefined ? ACS : o.recipient)}/>` +
    `</saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${o.notBefore ?? at(-60)}" NotOnOrAfter="${o.notOnOrAfter ?? at(300)}">` +
    (audience === null
      ? ''
      : `<saml:AudienceRestriction><saml:Audience>${escapeXml(audience)}</saml:Audience></saml:AudienceRestriction>`) +
    `</saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${at(-10)}" SessionIndex="_session-42"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    `<saml:AttributeStatement>` +
    `<saml:Attribute Name="urn:oid:0.9.2342.19200300.100.1.3" FriendlyName="mail"><saml:AttributeValue xsi:type="xs:string">alice@example.com</saml:AttributeValue></saml:Attribute>` +
    `<saml:Attribute Name="groups"><saml:AttributeValue>staff</saml:AttributeValue><saml:AttributeValue>admins</saml:AttributeValue></saml:Attribute>` +
    `</saml:AttributeStatement></saml:Assertion>`
  );
}

/** A whole unsigned Response around {@link buildAssertionXml} (or around `assertionXml` when given). */
export function buildResponseXml(o: ResponseOptions = {}, assertionXml: string = buildAssertionXml(o)): string {
  const issuer = o.responseIssuer === undefined ? IDP : o.responseIssuer;
  const status = o.status ?? { code: SUCCESS };
  const statusXml =
    `<samlp:Status><samlp:StatusCode Value="${status.code}">` +
    (status.subCode === undefined ? '' : `<samlp:StatusCode Value="${status.subCode}"/>`) +
    `</samlp:StatusCode>${status.message === undefined ? '' : `<samlp:StatusMessage>${escapeXml(status.message)}</samlp:StatusMessage>`}</samlp:Status>`;
  return (
    `<samlp:Response xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${o.responseId ?? '_response-91ab'}" Version="2.0" IssueInstant="${at(-5)}"` +
    `${optionalAttr('Destination', o.destination === undefined ? ACS : o.destination)}${optionalAttr('InResponseTo', o.inResponseTo === undefined ? REQUEST_ID : o.inResponseTo)}>` +
    (issuer === null ? '' : `<saml:Issuer>${escapeXml(issuer)}</saml:Issuer>`) +
    (o.responseExtraXml ?? '') +
    statusXml +
    (o.noAssertion === true ? '' : assertionXml) +
    `</samlp:Response>`
  );
}

export const ALGORITHMS = {
  rsaSha256: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  rsaSha1: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
  excC14n: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  enveloped: 'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
  xpath: 'http://www.w3.org/TR/1999/REC-xpath-19991116',
} as const;

export interface SignOptions {
  /** Which element to sign: the (first) Assertion or the Response. */
  target: 'assertion' | 'response';
  keyPem?: string;
  certPem?: string;
  signatureAlgorithm?: string;
  digestAlgorithm?: string;
  /** Reference transforms; default enveloped-signature + exclusive c14n. */
  transforms?: string[];
}

/**
 * A stand-in for a transform the verifier must refuse (XPath filtering, XSLT…): for the signer it
 * changes nothing, so the signature is genuinely valid and only the transform policy can refuse it.
 */
class PassThroughTransform {
  process(node: unknown) {
    return node;
  }
  getAlgorithmName() {
    return ALGORITHMS.xpath;
  }
}

/** Signs the target element of `xml` (enveloped signature placed after its Issuer, SAML core §5.4.1). */
export function sign(xml: string, options: SignOptions): string {
  const signer = new SignedXml({
    privateKey: options.keyPem ?? testKeys.idpKeyPem,
    publicCert: options.certPem ?? testKeys.idpCertPem,
    signatureAlgorithm: options.signatureAlgorithm ?? ALGORITHMS.rsaSha256,
    canonicalizationAlgorithm: ALGORITHMS.excC14n,
  });
  (signer.CanonicalizationAlgorithms as Record<string, unknown>)[ALGORITHMS.xpath] = PassThroughTransform;
  const element = options.target === 'assertion' ? 'Assertion' : 'Response';
  const xpath = `//*[local-name(.)='${element}']`;
  signer.addReference({
    xpath,
    transforms: options.transforms ?? [ALGORITHMS.enveloped, ALGORITHMS.excC14n],
    digestAlgorithm: options.digestAlgorithm ?? ALGORITHMS.sha256,
  });
  const hasIssuer = new RegExp(`<samlp?:${element}[^>]*>(<ds:Signature.*</ds:Signature>)?<saml:Issuer`).test(xml);
  const location = hasIssuer
    ? { reference: `${xpath}/*[local-name(.)='Issuer']`, action: 'after' as const }
    : { reference: xpath, action: 'prepend' as const };
  signer.computeSignature(xml, { prefix: 'ds', location });
  return signer.getSignedXml();
}

/** The serialized Assertion element of a response (exact bytes, for moving it around in attacks). */
export function extractAssertion(xml: string): string {
  const start = xml.indexOf('<saml:Assertion');
  const end = xml.lastIndexOf('</saml:Assertion>') + '</saml:Assertion>'.length;
  if (start < 0 || end < start) throw new Error('no assertion');
  return xml.slice(start, end);
}

export interface EncryptOptions {
  data: 'aes-128-cbc' | 'aes-256-cbc' | 'aes-128-gcm' | 'aes-256-gcm';
  transport?: 'rsa-oaep-mgf1p' | 'rsa-oaep-sha256' | 'rsa-1_5';
  /**
   * Where the EncryptedKey goes: inside EncryptedData/KeyInfo (default), beside EncryptedData and
   * pointed at by a KeyInfo RetrievalMethod (as Okta does), or beside it with no KeyInfo at all.
   */
  keyPlacement?: 'key-info' | 'retrieval-method' | 'sibling';
  recipientKey?: KeyObject;
}

const DATA_URIS = {
  'aes-128-cbc': 'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
  'aes-256-cbc': 'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  'aes-128-gcm': 'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  'aes-256-gcm': 'http://www.w3.org/2009/xmlenc11#aes256-gcm',
} as const;

/** Replaces the Assertion of `xml` with an EncryptedAssertion of it (XML-Enc 1.1), for the SP test key by default. */
export function encryptAssertion(xml: string, options: EncryptOptions): string {
  const plaintext = Buffer.from(extractAssertion(xml), 'utf8');
  const keyLength = options.data.startsWith('aes-128') ? 16 : 32;
  const contentKey = randomBytes(keyLength);
  const gcm = options.data.endsWith('gcm');
  const iv = randomBytes(gcm ? 12 : 16);
  const cipher = createCipheriv(options.data, contentKey, iv);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const ciphertext = gcm
    ? Buffer.concat([iv, body, (cipher as unknown as { getAuthTag(): Buffer }).getAuthTag()])
    : Buffer.concat([iv, body]);
  const encryptedKey = buildEncryptedKey(contentKey, options);
  const placement = options.keyPlacement ?? 'key-info';
  const keyInfo =
    placement === 'retrieval-method'
      ? `<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:RetrievalMethod Type="http://www.w3.org/2001/04/xmlenc#EncryptedKey" URI="#_ek-1"/></ds:KeyInfo>`
      : placement === 'key-info'
        ? `<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">${encryptedKey}</ds:KeyInfo>`
        : '';
  const encrypted =
    `<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Id="_ed-1" Type="http://www.w3.org/2001/04/xmlenc#Element">` +
    `<xenc:EncryptionMethod Algorithm="${DATA_URIS[options.data]}"/>${keyInfo}` +
    `<xenc:CipherData><xenc:CipherValue>${ciphertext.toString('base64')}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>` +
    (placement === 'key-info' ? '' : encryptedKey) +
    `</saml:EncryptedAssertion>`;
  return xml.replace(extractAssertion(xml), encrypted);
}

function buildEncryptedKey(contentKey: Buffer, options: EncryptOptions): string {
  const transport = options.transport ?? 'rsa-oaep-mgf1p';
  const key = options.recipientKey ?? testKeys.spPublicKey;
  const padding = transport === 'rsa-1_5' ? constants.RSA_PKCS1_PADDING : constants.RSA_PKCS1_OAEP_PADDING;
  const wrapped = publicEncrypt({ key, padding, oaepHash: transport === 'rsa-oaep-sha256' ? 'sha256' : 'sha1' }, contentKey);
  const method =
    transport === 'rsa-oaep-sha256'
      ? `<xenc:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#rsa-oaep"><ds:DigestMethod xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Algorithm="${ALGORITHMS.sha256}"/><xenc11:MGF xmlns:xenc11="http://www.w3.org/2009/xmlenc11#" Algorithm="http://www.w3.org/2009/xmlenc11#mgf1sha256"/></xenc:EncryptionMethod>`
      : transport === 'rsa-1_5'
        ? `<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-1_5"/>`
        : `<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"><ds:DigestMethod xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Algorithm="${ALGORITHMS.sha1}"/></xenc:EncryptionMethod>`;
  return (
    `<xenc:EncryptedKey xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Id="_ek-1">${method}` +
    `<xenc:CipherData><xenc:CipherValue>${wrapped.toString('base64')}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>`
  );
}

/** The verifier input for the template's IdP/SP, with the test clock; override what the case changes. */
export function inputFor(xml: string, overrides: Partial<VerifySamlResponseInput> = {}): VerifySamlResponseInput {
  return {
    xml,
    idpEntityId: IDP,
    trustedCerts: [idpTrustedCert],
    spEntityId: SP,
    acsUrl: ACS,
    now: NOW,
    clockSkewSeconds: 0,
    expectedInResponseTo: REQUEST_ID,
    allowIdpInitiated: false,
    decryptionKeys: [testKeys.spKey],
    ...overrides,
  };
}

export { at };
