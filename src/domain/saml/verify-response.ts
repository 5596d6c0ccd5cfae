import type { KeyObject } from 'node:crypto';
import { readAttributes, readAuthn, readSubject } from './assertion-data.ts';
import { checkAssertionIssuer, checkConditions, checkSubjectConfirmation, type AssertionExpectations } from './conditions.ts';
import { decryptAssertion } from './decrypt.ts';
import { ok } from '../result.ts';
import { fail, type SamlResult } from './errors.ts';
import { readSignature, verifySignature, type SignatureTrust, type TrustedCertificate, type UnverifiedSignature } from './signature.ts';
import { checkResponseFields, checkStatus, locateAssertion, type AssertionSlot } from './response-checks.ts';
import { indexDocument, pathOf } from './structure.ts';
import { attr, children, NS, parseXml } from './xml.ts';
import type { XmlElement } from './xml-tree.ts';

/**
 * Which signatures a connection requires. The default, `assertion-or-response`, accepts a signed
 * Response (which covers its one Assertion or EncryptedAssertion) or a signed Assertion. Whatever
 * the policy, every signature that is present must verify.
 */
export type SignaturePolicy = 'assertion-or-response' | 'assertion' | 'response' | 'both';

/** Everything {@link verifySamlResponse} needs; all of it comes from the connection and the pending login. */
export interface VerifySamlResponseInput {
  /** The decoded SAMLResponse document (UTF-8 text, a leading BOM is fine). */
  readonly xml: string;
  /** Expected Issuer of the Assertion (and of the Response when it names one). */
  readonly idpEntityId: string;
  /** Pinned IdP signing certificates, see `trustedCertificate()`. KeyInfo in the response is never trusted. */
  readonly trustedCerts: readonly TrustedCertificate[];
  /** This SP's entity ID, expected as Audience. */
  readonly spEntityId: string;
  /** This connection's ACS URL, expected as Response Destination (when present) and as SubjectConfirmationData Recipient. */
  readonly acsUrl: string;
  readonly now: Date;
  /** Tolerance for clock differences with the IdP, in seconds (negative or non-finite counts as 0). */
  readonly clockSkewSeconds: number;
  /** The ID of the pending AuthnRequest, or null when this browser has no login pending. */
  readonly expectedInResponseTo: string | null;
  /** Accept responses without InResponseTo (IdP-initiated SSO, SAML profiles §4.1.5). */
  readonly allowIdpInitiated: boolean;
  readonly signaturePolicy?: SignaturePolicy;
  /** Accept SHA-1 signature and digest algorithms (legacy IdPs). Default false. */
  readonly allowSha1?: boolean;
  /** SP RSA private keys for EncryptedAssertion, tried in order (e.g. current and next during rotation). */
  readonly decryptionKeys?: readonly KeyObject[];
  /**
   * Compare SubjectConfirmationData Recipient with `acsUrl`. Default true; turn off only for an IdP
   * known to send a placeholder Recipient, since the check stops a response for another SP being replayed here.
   */
  readonly checkRecipient?: boolean;
  /** Require an AudienceRestriction (SAML profiles §4.1.4.2). Default true; a present one is always checked. */
  readonly requireAudienceRestriction?: boolean;
  /** Refuse larger documents (bytes of UTF-8). Default {@link DEFAULT_MAX_RESPONSE_BYTES}. */
  readonly maxBytes?: number;
}

/** What a verified response says, read only from signed (and, if it was encrypted, decrypted) XML. */
export interface VerifiedAssertion {
  readonly issuer: string;
  readonly nameId: string;
  readonly nameIdFormat: string | null;
  readonly nameQualifier: string | null;
  readonly spNameQualifier: string | null;
  readonly sessionIndex: string | null;
  /** Attribute values by Name (a prototype-less record). */
  readonly attributes: Readonly<Record<string, readonly string[]>>;
  /** FriendlyName by attribute Name, for attributes that have one. */
  readonly attributeFriendlyNames: Readonly<Record<string, string>>;
  readonly assertionId: string;
  readonly responseId: string;
  readonly inResponseTo: string | null;
  /** The earliest expiry (Conditions and SubjectConfirmationData): keep `assertionId` in the replay cache until then. */
  readonly notOnOrAfter: Date;
  readonly authnInstant: Date | null;
  readonly sessionNotOnOrAfter: Date | null;
  readonly signed: { readonly response: boolean; readonly assertion: boolean };
  readonly encrypted: boolean;
  /** SHA-256 fingerprint of the pinned certificate that verified the assertion's signature (or the response's). */
  readonly signingCertificateFingerprintSha256: string;
}

/**
 * Large enough for assertions carrying hundreds of group attributes (real responses are 3–50 KB),
 * small enough to bound the work of one hostile request: with XML_LIMITS (xml.ts) bounding the
 * tree, parsing and checking 256 KB costs a few milliseconds of CPU.
 */
const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024;

/**
 * Verifies a SAML 2.0 Response for the Web Browser SSO profile (SAML profiles §4.1) and returns
 * the verified assertion or a typed refusal; never throws. Pure: no I/O, no clock, no globals.
 * Signatures are checked against the pinned certificates only, and everything returned is read
 * from the very element a verified signature covers.
 */
export function verifySamlResponse(input: VerifySamlResponseInput): SamlResult<VerifiedAssertion> {
  try {
    if (Number.isNaN(input.now.getTime())) return fail('saml_internal_error', 'The verifier was called without a valid current time.');
    return verifyResponse(input);
  } catch (error) {
    return fail('saml_internal_error', 'The response could not be verified because of an internal error, so it was refused.', {
      cause: String(error),
    });
  }
}

function verifyResponse(input: VerifySamlResponseInput): SamlResult<VerifiedAssertion> {
  const policy: SignatureTrust = { trustedCerts: input.trustedCerts, allowSha1: input.allowSha1 ?? false };
  const requirement = input.signaturePolicy ?? 'assertion-or-response';
  const opened = openResponse(input.xml, input.maxBytes ?? DEFAULT_MAX_RESPONSE_BYTES);
  if (!opened.ok) return opened;
  const { response: unverifiedResponse, ids } = opened.value;
  const status = checkStatus(unverifiedResponse);
  if (!status.ok) return status;
  const slot = locateAssertion(unverifiedResponse);
  if (!slot.ok) return slot;
  // Read every visible signature before any crypto, so structural and algorithm refusals come first.
  const responseSignature = readOwnSignature(unverifiedResponse, policy);
  if (!responseSignature.ok) return responseSignature;
  const plainSignature = slot.value.plain === undefined ? ok(null) : readOwnSignature(slot.value.plain, policy);
  if (!plainSignature.ok) return plainSignature;
  const hasAssertionSignature = slot.value.plain === undefined ? undefined : plainSignature.value !== null;
  const required = requireSignatures(requirement, responseSignature.value !== null, hasAssertionSignature);
  if (!required.ok) return required;
  // The Response signature is checked before decryption, so a signed response is never a decryption oracle.
  const responseFingerprint = verifyIfPresent(responseSignature.value, policy);
  if (!responseFingerprint.ok) return responseFingerprint;
  const responseFields = checkResponseFields(unverifiedResponse, input);
  if (!responseFields.ok) return responseFields;
  const verified = obtainVerifiedAssertion(slot.value, plainSignature.value, ids, input, policy);
  if (!verified.ok) return verified;
  const requiredAfterDecryption = requireSignatures(requirement, responseSignature.value !== null, verified.value.fingerprint !== null);
  if (!requiredAfterDecryption.ok) return requiredAfterDecryption;
  return readVerifiedAssertion(verified.value.assertion, input, {
    ...responseFields.value,
    responseFingerprint: responseFingerprint.value,
    assertionFingerprint: verified.value.fingerprint,
    encrypted: slot.value.encrypted !== undefined,
  });
}

function openResponse(xml: string, maxBytes: number): SamlResult<{ response: XmlElement; ids: Set<string> }> {
  const parsed = parseXml(xml, maxBytes);
  if (!parsed.ok) {
    const { code, message } = parsed.error;
    if (code === 'xml_too_large') return fail('saml_too_large', `The SAML response is larger than ${maxBytes} bytes.`, { maxBytes });
    if (code === 'xml_doctype_forbidden') return fail('saml_doctype_forbidden', message);
    return fail('saml_malformed_xml', message);
  }
  const root = parsed.value.root;
  if (root.namespaceURI !== NS.samlp || root.localName !== 'Response') {
    return fail(
      'saml_not_a_response',
      `The document is a <${root.nodeName}> (namespace ${root.namespaceURI ?? 'none'}), not a SAML 2.0 protocol Response.`,
    );
  }
  const indexed = indexDocument(root, new Set());
  return indexed.ok ? ok({ response: root, ids: indexed.value }) : indexed;
}

/** The ds:Signature that is a direct child of `element`, read but not verified; null when unsigned. */
function readOwnSignature(element: XmlElement, policy: SignatureTrust): SamlResult<UnverifiedSignature | null> {
  const signatures = children(element, NS.ds, 'Signature');
  const [signature] = signatures;
  if (signature === undefined) return ok(null);
  if (signatures.length > 1)
    return fail('saml_signature_wrapping', `${pathOf(element)} carries ${signatures.length} signatures; one is accepted.`);
  return readSignature(signature, element, policy);
}

function verifyIfPresent(unverified: UnverifiedSignature | null, policy: SignatureTrust): SamlResult<string | null> {
  if (unverified === null) return ok(null);
  const verified = verifySignature(unverified, policy);
  return verified.ok ? ok(verified.value.fingerprintSha256) : verified;
}

/** `hasAssertion` is undefined while the assertion is still encrypted (its signature is not visible yet). */
function requireSignatures(requirement: SignaturePolicy, hasResponse: boolean, hasAssertion: boolean | undefined): SamlResult<true> {
  if ((requirement === 'response' || requirement === 'both') && !hasResponse) {
    return fail('saml_signature_missing', 'The Response is not signed, and this connection requires a signed Response.', { requirement });
  }
  if ((requirement === 'assertion' || requirement === 'both') && hasAssertion === false) {
    return fail('saml_signature_missing', 'The Assertion is not signed, and this connection requires a signed Assertion.', { requirement });
  }
  if (requirement === 'assertion-or-response' && !hasResponse && hasAssertion === false) {
    return fail(
      'saml_signature_missing',
      'Neither the Response nor the Assertion is signed. Configure the identity provider to sign the assertion (or the response).',
      { requirement },
    );
  }
  return ok(true);
}

/**
 * The assertion to read, with the fingerprint of the certificate that verified its own signature
 * (null when only the Response is signed). An encrypted one is decrypted, indexed against the
 * outer document's IDs, and verified exactly like a plain one.
 */
function obtainVerifiedAssertion(
  slot: AssertionSlot,
  plainSignature: UnverifiedSignature | null,
  ids: Set<string>,
  input: VerifySamlResponseInput,
  policy: SignatureTrust,
): SamlResult<{ assertion: XmlElement; fingerprint: string | null }> {
  if (slot.plain !== undefined) {
    const fingerprint = verifyIfPresent(plainSignature, policy);
    return fingerprint.ok ? ok({ assertion: slot.plain, fingerprint: fingerprint.value }) : fingerprint;
  }
  const decrypted = decryptAssertion(slot.encrypted, input.decryptionKeys ?? []);
  if (!decrypted.ok) return decrypted;
  const indexed = indexDocument(decrypted.value, new Set(ids));
  if (!indexed.ok) return indexed;
  const signature = readOwnSignature(decrypted.value, policy);
  if (!signature.ok) return signature;
  const fingerprint = verifyIfPresent(signature.value, policy);
  return fingerprint.ok ? ok({ assertion: decrypted.value, fingerprint: fingerprint.value }) : fingerprint;
}

interface ResponseFacts {
  readonly responseId: string;
  readonly inResponseTo: string | null;
  readonly responseFingerprint: string | null;
  readonly assertionFingerprint: string | null;
  readonly encrypted: boolean;
}

/** Checks and reads the verified assertion (SAML profiles §4.1.4.3). */
function readVerifiedAssertion(
  verifiedAssertion: XmlElement,
  input: VerifySamlResponseInput,
  facts: ResponseFacts,
): SamlResult<VerifiedAssertion> {
  const assertionId = attr(verifiedAssertion, 'ID');
  if (assertionId === undefined || assertionId === '') return fail('saml_malformed_response', 'The Assertion has no ID.');
  const expect = expectations(input);
  const issuer = checkAssertionIssuer(verifiedAssertion, input.idpEntityId);
  if (!issuer.ok) return issuer;
  const conditionsExpiry = checkConditions(verifiedAssertion, expect);
  if (!conditionsExpiry.ok) return conditionsExpiry;
  const subject = readSubject(verifiedAssertion);
  if (!subject.ok) return subject;
  const confirmed = checkSubjectConfirmation(subject.value.subject, expect);
  if (!confirmed.ok) return confirmed;
  // Whether the login was solicited is decided on signed values only: an unsigned Response's
  // InResponseTo must not turn a captured IdP-initiated assertion into an SP-initiated one.
  // (Profiles §4.1.4.2 puts InResponseTo in the bearer SubjectConfirmationData for that reason.)
  const inResponseTo = (facts.responseFingerprint !== null ? facts.inResponseTo : null) ?? confirmed.value.inResponseTo;
  if (inResponseTo === null && !input.allowIdpInitiated) {
    return fail(
      'saml_unsolicited_not_allowed',
      'The identity provider started this login itself (IdP-initiated SSO), which this connection does not allow. Start the ' +
        'login from the application instead.',
    );
  }
  const authn = readAuthn(verifiedAssertion);
  if (!authn.ok) return authn;
  const { attributes, friendlyNames } = readAttributes(verifiedAssertion);
  const expiry = conditionsExpiry.value;
  const fingerprint = facts.assertionFingerprint ?? facts.responseFingerprint;
  if (fingerprint === null) return fail('saml_signature_missing', 'Neither the Response nor the Assertion is signed.');
  return ok({
    issuer: issuer.value,
    nameId: subject.value.nameId,
    nameIdFormat: subject.value.nameIdFormat,
    nameQualifier: subject.value.nameQualifier,
    spNameQualifier: subject.value.spNameQualifier,
    sessionIndex: authn.value.sessionIndex,
    attributes,
    attributeFriendlyNames: friendlyNames,
    assertionId,
    responseId: facts.responseId,
    inResponseTo,
    notOnOrAfter: expiry !== null && expiry < confirmed.value.notOnOrAfter ? expiry : confirmed.value.notOnOrAfter,
    authnInstant: authn.value.authnInstant,
    sessionNotOnOrAfter: authn.value.sessionNotOnOrAfter,
    signed: { response: facts.responseFingerprint !== null, assertion: facts.assertionFingerprint !== null },
    encrypted: facts.encrypted,
    signingCertificateFingerprintSha256: fingerprint,
  });
}

function expectations(input: VerifySamlResponseInput): AssertionExpectations {
  return {
    idpEntityId: input.idpEntityId,
    spEntityId: input.spEntityId,
    acsUrl: input.acsUrl,
    now: input.now,
    clockSkewSeconds: Number.isFinite(input.clockSkewSeconds) && input.clockSkewSeconds > 0 ? input.clockSkewSeconds : 0,
    expectedInResponseTo: input.expectedInResponseTo,
    checkRecipient: input.checkRecipient ?? true,
    requireAudienceRestriction: input.requireAudienceRestriction ?? true,
  };
}
