/**
 * Builds the IdP's side of Single Logout for tests: LogoutRequests and LogoutResponses as an IdP
 * writes them, sent with the HTTP-Redirect binding (query signed with the committed test keys) or
 * the HTTP-POST binding (enveloped signature by xml-crypto). Defaults are realistic, so a test
 * states only what its case changes.
 */
import * as assert from 'node:assert/strict';
import { createPrivateKey, sign as rsaSign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { deflateRawSync } from 'node:zlib';
import { SignedXml } from 'xml-crypto';
import { encodeRedirectBinding } from '../../src/domain/saml/authn-request.ts';
import type { Result } from '../../src/domain/result.ts';
import type { SamlError, SamlErrorCode } from '../../src/domain/saml/errors.ts';
import { verifyLogoutRequest, verifyLogoutResponse, type VerifyLogoutInput } from '../../src/domain/saml/logout-verify.ts';
import { escapeXml } from '../../src/domain/saml/xml.ts';
import { ALGORITHMS, at, IDP, idpTrustedCert, NOW, SP, testKeys } from './saml-builder.ts';

export const SLO = 'https://lanyard.example.test/saml/slo';
/** The SP test certificate (its key is `testKeys.spKey`): what an IdP pins to check Lanyard's logout messages. */
export const spCertPath = new URL('../fixtures/keys/sp-test.cert.pem', import.meta.url);
export const spCertPem = readFileSync(spCertPath, 'utf8');
export const LOGOUT_REQUEST_ID = '_logout-req-3b9f';
export const SP_REQUEST_ID = '_lanyard-logout-77aa';

const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
const STATUS = 'urn:oasis:names:tc:SAML:2.0:status:';

const optionalAttr = (name: string, value: string | null) => (value === null ? '' : ` ${name}="${escapeXml(value)}"`);

/** What a test may change in an IdP message; `null` leaves the attribute or element out. */
export interface LogoutMessageOptions {
  id?: string;
  version?: string | null;
  issueInstant?: string | null;
  destination?: string | null;
  issuer?: string | null;
  issuerFormat?: string | null;
  /** Raw XML inserted right after the Issuer (e.g. samlp:Extensions). */
  extraXml?: string;
}

export interface LogoutRequestOptions extends LogoutMessageOptions {
  notOnOrAfter?: string | null;
  /** Raw XML of the identifier element(s); default a NameID with Format and SPNameQualifier. */
  identifierXml?: string;
  sessionIndexes?: string[];
  reason?: string | null;
}

export interface LogoutResponseOptions extends LogoutMessageOptions {
  inResponseTo?: string | null;
  statusCodes?: string[];
  statusMessage?: string;
}

export const NAME_ID_XML = `<saml:NameID SPNameQualifier="${SP}" Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">alice@example.com</saml:NameID>`;

function envelope(o: LogoutMessageOptions, defaults: { id: string; element: string }, attributes: string, body: string): string {
  const issuer = o.issuer === undefined ? IDP : o.issuer;
  const issuerFormat = o.issuerFormat === undefined ? 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity' : o.issuerFormat;
  return (
    `<samlp:${defaults.element} xmlns:samlp="${SAMLP}" xmlns:saml="${SAML}" ID="${o.id ?? defaults.id}"` +
    optionalAttr('Version', o.version === undefined ? '2.0' : o.version) +
    optionalAttr('IssueInstant', o.issueInstant === undefined ? at(-2) : o.issueInstant) +
    optionalAttr('Destination', o.destination === undefined ? SLO : o.destination) +
    `${attributes}>` +
    (issuer === null ? '' : `<saml:Issuer${optionalAttr('Format', issuerFormat)}>${escapeXml(issuer)}</saml:Issuer>`) +
    (o.extraXml ?? '') +
    body +
    `</samlp:${defaults.element}>`
  );
}

/** An IdP-initiated LogoutRequest for alice's session `_session-42` (as SimpleSAMLphp writes one). */
export function buildLogoutRequestXml(o: LogoutRequestOptions = {}): string {
  const attributes =
    optionalAttr('NotOnOrAfter', o.notOnOrAfter === undefined ? at(298) : o.notOnOrAfter) + optionalAttr('Reason', o.reason ?? null);
  const sessions = (o.sessionIndexes ?? ['_session-42']).map((index) => `<samlp:SessionIndex>${escapeXml(index)}</samlp:SessionIndex>`);
  return envelope(o, { id: LOGOUT_REQUEST_ID, element: 'LogoutRequest' }, attributes, (o.identifierXml ?? NAME_ID_XML) + sessions.join(''));
}

/** The IdP's LogoutResponse to Lanyard's request {@link SP_REQUEST_ID}. */
export function buildLogoutResponseXml(o: LogoutResponseOptions = {}): string {
  const attributes = optionalAttr('InResponseTo', o.inResponseTo === undefined ? SP_REQUEST_ID : o.inResponseTo);
  const codes = o.statusCodes ?? [`${STATUS}Success`];
  const statusCode = codes.reduceRight((inner, code) => `<samlp:StatusCode Value="${code}">${inner}</samlp:StatusCode>`, '');
  const message = o.statusMessage === undefined ? '' : `<samlp:StatusMessage>${escapeXml(o.statusMessage)}</samlp:StatusMessage>`;
  return envelope(
    o,
    { id: '_logout-resp-5c1d', element: 'LogoutResponse' },
    attributes,
    `<samlp:Status>${statusCode}${message}</samlp:Status>`,
  );
}

export interface RedirectOptions {
  parameter?: 'SAMLRequest' | 'SAMLResponse';
  relayState?: string;
  /** Sign with this PEM key (default the IdP test key); null leaves the query unsigned. */
  keyPem?: string | null;
  /** SigAlg URI and the node:crypto hash it means; default RSA-SHA256. */
  sigAlg?: string;
  hash?: string;
}

/** The raw query an IdP would send: DEFLATE, base64, URL-encoding, signed over the exact octets (bindings §3.4.4.1). */
export function redirectQuery(xml: string, o: RedirectOptions = {}): string {
  const parameter = o.parameter ?? (xml.includes('<samlp:LogoutResponse') ? 'SAMLResponse' : 'SAMLRequest');
  const keyPem = o.keyPem === undefined ? testKeys.idpKeyPem : o.keyPem;
  if (o.sigAlg === undefined && o.hash === undefined) {
    // The default path goes through Lanyard's own encoder, so the two halves are proven to agree.
    const encoded = encodeRedirectBinding({
      ssoUrl: SLO,
      xml,
      parameter,
      ...(o.relayState === undefined ? {} : { relayState: o.relayState }),
      ...(keyPem === null ? {} : { signingKey: createPrivateKey(keyPem) }),
    });
    return new URL(encoded.url).search.slice(1);
  }
  const parts = [`${parameter}=${encodeURIComponent(deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'))}`];
  if (o.relayState !== undefined) parts.push(`RelayState=${encodeURIComponent(o.relayState)}`);
  parts.push(`SigAlg=${encodeURIComponent(o.sigAlg ?? ALGORITHMS.rsaSha256)}`);
  const signature = rsaSign(o.hash ?? 'sha256', Buffer.from(parts.join('&')), createPrivateKey(keyPem ?? testKeys.idpKeyPem));
  parts.push(`Signature=${encodeURIComponent(signature.toString('base64'))}`);
  return parts.join('&');
}

export interface PostSignOptions {
  keyPem?: string;
  certPem?: string;
  signatureAlgorithm?: string;
  /** Which element to sign, by ID; default the root. */
  referenceId?: string;
}

/** Signs the root message element (enveloped signature right after its Issuer, SAML core §5.4.1). */
export function signPost(xml: string, o: PostSignOptions = {}): string {
  const signer = new SignedXml({
    privateKey: o.keyPem ?? testKeys.idpKeyPem,
    publicCert: o.certPem ?? testKeys.idpCertPem,
    signatureAlgorithm: o.signatureAlgorithm ?? ALGORITHMS.rsaSha256,
    canonicalizationAlgorithm: ALGORITHMS.excC14n,
  });
  const xpath = o.referenceId === undefined ? '/*' : `//*[@ID='${o.referenceId}']`;
  signer.addReference({
    xpath,
    transforms: [ALGORITHMS.enveloped, ALGORITHMS.excC14n] as never,
    digestAlgorithm: ALGORITHMS.sha256,
  });
  signer.computeSignature(xml, { prefix: 'ds', location: { reference: "/*/*[local-name(.)='Issuer']", action: 'after' } });
  return signer.getSignedXml();
}

/** Base64 for the POST binding's form field. */
export function postField(xml: string): string {
  return Buffer.from(xml, 'utf8').toString('base64');
}

/** The verifier input for the template's IdP and SLO URL, with the test clock; override what the case changes. */
export function logoutInputFor(received: VerifyLogoutInput['received'], overrides: Partial<VerifyLogoutInput> = {}): VerifyLogoutInput {
  return { received, idpEntityId: IDP, trustedCerts: [idpTrustedCert], sloUrl: SLO, now: NOW, clockSkewSeconds: 0, ...overrides };
}

/** Every refusal code a logout test file saw, for its catalogue check. */
export const seenLogoutCodes = new Set<string>();

/** Asserts a refusal with `code` (and a message), and returns it. */
export function refused<T>(result: Result<T, SamlError>, code: SamlErrorCode): SamlError {
  if (result.ok) assert.fail(`expected ${code}, but the message was ACCEPTED`);
  seenLogoutCodes.add(result.error.code);
  assert.equal(result.error.code, code, `got ${result.error.code}: ${result.error.message}`);
  assert.ok(result.error.message.length > 0);
  return result.error;
}

/** Asserts acceptance, and returns the verified value. */
export function accepted<T>(result: Result<T, SamlError>): T {
  if (!result.ok) assert.fail(`expected acceptance, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

/** verifyLogoutRequest over a Redirect-binding query, with the template's connection. */
export function redirectRequest(rawQuery: string, overrides: Partial<VerifyLogoutInput> = {}) {
  return verifyLogoutRequest(logoutInputFor({ binding: 'redirect', rawQuery }, overrides));
}

/** verifyLogoutResponse over a Redirect-binding query, answering {@link SP_REQUEST_ID} by default. */
export function redirectResponse(
  rawQuery: string,
  expectedInResponseTo: string | null = SP_REQUEST_ID,
  overrides: Partial<VerifyLogoutInput> = {},
) {
  return verifyLogoutResponse({ ...logoutInputFor({ binding: 'redirect', rawQuery }, overrides), expectedInResponseTo });
}
