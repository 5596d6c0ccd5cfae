import type { Catalogue } from '../catalogue.ts';
import { err, type Result } from '../result.ts';
/**
 * The catalogue of reasons a SAML Response is refused. Codes are stable (logged, stored on the
 * login row, shown to the customer's IT admin and matched on by callers); the messages built next
 * to each failure are the human side and may change. A test checks that every code the verifier
 * can return is listed here.
 */
export const SAML_ERROR_CATALOGUE = {
  saml_too_large: { description: 'The SAMLResponse is larger than the configured size limit.' },
  saml_doctype_forbidden: {
    description: 'The XML carries a DOCTYPE or entity declaration, which SAML never needs (XXE, entity expansion).',
  },
  saml_malformed_xml: {
    description:
      'The XML is not well-formed, or uses constructs a SAML message never needs (processing instructions, more than 64 levels, ' +
      '10,000 elements, 256 attributes on one element or 20,000 in all).',
  },
  saml_not_a_response: { description: 'The document root is not a SAML 2.0 protocol <Response>.' },
  saml_malformed_response: {
    description: 'The Response breaks the SAML 2.0 schema (a required element or attribute is missing or invalid).',
  },
  saml_status_not_success: { description: 'The identity provider reported a failure status instead of Success.' },
  saml_duplicate_id: { description: 'Two elements carry the same ID, which makes signature references ambiguous (signature wrapping).' },
  saml_signature_wrapping: {
    description:
      'The signed element is not the element that would be consumed, or an Assertion/Response sits where none belongs (signature wrapping).',
  },
  saml_multiple_assertions: { description: 'The Response contains more than one Assertion or EncryptedAssertion.' },
  saml_no_assertion: { description: 'The Response contains no Assertion or EncryptedAssertion.' },
  saml_signature_missing: { description: 'A signature required by the connection policy is absent.' },
  saml_signature_malformed: {
    description: 'A ds:Signature does not have the structure XML-DSig requires (one SignedInfo, one Reference, values).',
  },
  saml_unsupported_algorithm: { description: 'A signature, digest, transform, canonicalization or encryption algorithm is not accepted.' },
  saml_sha1_not_allowed: { description: 'The signature uses SHA-1, which this connection does not allow.' },
  saml_untrusted_certificate: { description: 'The signature does not verify with any certificate pinned for this connection.' },
  saml_signature_invalid: { description: 'The SignatureValue does not verify over SignedInfo with the pinned certificate.' },
  saml_digest_mismatch: { description: 'The signed element was changed after signing (its digest does not match the signed one).' },
  saml_decryption_failed: { description: 'The EncryptedAssertion could not be decrypted with the service provider keys.' },
  saml_missing_issuer: { description: 'The Assertion has no Issuer.' },
  saml_wrong_issuer: { description: 'The Issuer is not the entity ID configured for this identity provider.' },
  saml_wrong_destination: { description: 'The Response Destination is not this connection’s ACS URL.' },
  saml_missing_audience: { description: 'The Assertion has no AudienceRestriction although the connection requires one.' },
  saml_wrong_audience: { description: 'The AudienceRestriction does not name this service provider’s entity ID.' },
  saml_missing_subject_confirmation: {
    description: 'No bearer SubjectConfirmation with the SubjectConfirmationData the Web SSO profile requires (NotOnOrAfter).',
  },
  saml_wrong_recipient: { description: 'The SubjectConfirmationData Recipient is not this connection’s ACS URL.' },
  saml_expired: { description: 'The Assertion or its SubjectConfirmationData is past its NotOnOrAfter.' },
  saml_not_yet_valid: { description: 'The Assertion or its SubjectConfirmationData is before its NotBefore.' },
  saml_in_response_to_mismatch: { description: 'InResponseTo does not name the login request that is pending.' },
  saml_unsolicited_not_allowed: { description: 'The Response is IdP-initiated (no InResponseTo) and this connection does not allow that.' },
  saml_missing_name_id: { description: 'The Assertion Subject has no usable NameID.' },
  saml_invalid_trusted_certificate: { description: 'A certificate configured for pinning could not be parsed as an X.509 certificate.' },
  saml_internal_error: { description: 'An unexpected failure inside the verifier; the Response was refused.' },
  // Single Logout (SAML core §3.7, bindings §3.4.4.1 and §3.5, profiles §4.4). The codes above that name no
  // Response or Assertion (DOCTYPE, malformed XML, duplicate IDs, wrapping, signature and algorithm codes,
  // wrong issuer, status not success) are also returned for logout messages.
  saml_binding_malformed: {
    description:
      'The HTTP-Redirect or HTTP-POST parameters are unusable: a repeated or missing parameter, invalid URL-encoding or base64, ' +
      'data that does not inflate, or an unknown SAMLEncoding.',
  },
  saml_logout_too_large: { description: 'The logout message is larger than the size limit (encoded, or once inflated: a deflate bomb).' },
  saml_not_a_logout_message: { description: 'The message is not the SAML 2.0 LogoutRequest or LogoutResponse expected here.' },
  saml_malformed_logout_message: {
    description:
      'The LogoutRequest or LogoutResponse breaks the SAML 2.0 schema (a required element or attribute is missing, repeated or invalid).',
  },
  saml_logout_missing_issuer: {
    description: 'The logout message has no Issuer, or an Issuer whose Format is not the entity format (profiles §4.4.4).',
  },
  saml_logout_wrong_destination: {
    description: 'The logout message Destination is not this connection’s SLO URL, or a signed message has no Destination.',
  },
  saml_logout_expired: {
    description: 'The logout message is past its NotOnOrAfter, or was issued longer ago than the accepted message age.',
  },
  saml_logout_not_yet_valid: { description: 'The logout message IssueInstant is in the future, beyond the allowed clock skew.' },
  saml_logout_in_response_to_mismatch: { description: 'The LogoutResponse does not answer the LogoutRequest that Lanyard sent.' },
  saml_logout_unsupported_identifier: {
    description: 'The LogoutRequest names the user with an EncryptedID or BaseID; Lanyard matches sessions on a plain NameID.',
  },
  saml_query_signature_invalid: {
    description: 'The Signature of an HTTP-Redirect message does not verify with any pinned certificate over the query octets as received.',
  },
} as const satisfies Catalogue;

/** A stable, snake_case reason code from {@link SAML_ERROR_CATALOGUE}. */
export type SamlErrorCode = keyof typeof SAML_ERROR_CATALOGUE;

/**
 * A refusal. `message` is plain words for a customer's IT admin (it may name certificate
 * fingerprints, entity IDs or times that help them fix their IdP); `detail` carries the same facts
 * as data for logs and the login row.
 */
export interface SamlError {
  readonly code: SamlErrorCode;
  readonly message: string;
  readonly detail?: Readonly<Record<string, unknown>>;
}

/** The result of every SAML domain function: a value, or a typed refusal. */
export type SamlResult<T> = Result<T, SamlError>;

/** A refusal with a catalogued code, as a failed {@link SamlResult}. */
export function fail(code: SamlErrorCode, message: string, detail?: Record<string, unknown>): Result<never, SamlError> {
  return err(detail === undefined ? { code, message } : { code, message, detail });
}

/** True when `code` is documented in the catalogue (for tests and for callers mapping stored codes). */
export function isSamlErrorCode(code: string): code is SamlErrorCode {
  return Object.hasOwn(SAML_ERROR_CATALOGUE, code);
}
