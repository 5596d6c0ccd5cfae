/**
 * The catalogue of reasons a SAML Response is refused. Codes are stable (logged, stored on the
 * login row, shown to the customer's IT admin and matched on by callers); the messages built next
 * to each failure are the human side and may change. A test checks that every code the verifier
 * can return is listed here.
 */
export const SAML_ERROR_CATALOGUE = {
  saml_too_large: 'The SAMLResponse is larger than the configured size limit.',
  saml_doctype_forbidden: 'The XML carries a DOCTYPE or entity declaration, which SAML never needs (XXE, entity expansion).',
  saml_malformed_xml:
    'The XML is not well-formed, or uses constructs a SAML message never needs (processing instructions, absurd nesting).',
  saml_not_a_response: 'The document root is not a SAML 2.0 protocol <Response>.',
  saml_malformed_response: 'The Response breaks the SAML 2.0 schema (a required element or attribute is missing or invalid).',
  saml_status_not_success: 'The identity provider reported a failure status instead of Success.',
  saml_duplicate_id: 'Two elements carry the same ID, which makes signature references ambiguous (signature wrapping).',
  saml_signature_wrapping:
    'The signed element is not the element that would be consumed, or an Assertion/Response sits where none belongs (signature wrapping).',
  saml_multiple_assertions: 'The Response contains more than one Assertion or EncryptedAssertion.',
  saml_no_assertion: 'The Response contains no Assertion or EncryptedAssertion.',
  saml_signature_missing: 'A signature required by the connection policy is absent.',
  saml_signature_malformed: 'A ds:Signature does not have the structure XML-DSig requires (one SignedInfo, one Reference, values).',
  saml_unsupported_algorithm: 'A signature, digest, transform, canonicalization or encryption algorithm is not accepted.',
  saml_sha1_not_allowed: 'The signature uses SHA-1, which this connection does not allow.',
  saml_untrusted_certificate: 'The signature does not verify with any certificate pinned for this connection.',
  saml_signature_invalid: 'The SignatureValue does not verify over SignedInfo with the pinned certificate.',
  saml_digest_mismatch: 'The signed element was changed after signing (its digest does not match the signed one).',
  saml_decryption_failed: 'The EncryptedAssertion could not be decrypted with the service provider keys.',
  saml_missing_issuer: 'The Assertion has no Issuer.',
  saml_wrong_issuer: 'The Issuer is not the entity ID configured for this identity provider.',
  saml_wrong_destination: 'The Response Destination is not this connection’s ACS URL.',
  saml_missing_audience: 'The Assertion has no AudienceRestriction although the connection requires one.',
  saml_wrong_audience: 'The AudienceRestriction does not name this service provider’s entity ID.',
  saml_missing_subject_confirmation:
    'No bearer SubjectConfirmation with the SubjectConfirmationData the Web SSO profile requires (NotOnOrAfter).',
  saml_wrong_recipient: 'The SubjectConfirmationData Recipient is not this connection’s ACS URL.',
  saml_expired: 'The Assertion or its SubjectConfirmationData is past its NotOnOrAfter.',
  saml_not_yet_valid: 'The Assertion or its SubjectConfirmationData is before its NotBefore.',
  saml_in_response_to_mismatch: 'InResponseTo does not name the login request that is pending.',
  saml_unsolicited_not_allowed: 'The Response is IdP-initiated (no InResponseTo) and this connection does not allow that.',
  saml_missing_name_id: 'The Assertion Subject has no usable NameID.',
  saml_invalid_trusted_certificate: 'A certificate configured for pinning could not be parsed as an X.509 certificate.',
  saml_internal_error: 'An unexpected failure inside the verifier; the Response was refused.',
  // Single Logout (SAML core §3.7, bindings §3.4.4.1 and §3.5, profiles §4.4). The codes above that name no
  // Response or Assertion (DOCTYPE, malformed XML, duplicate IDs, wrapping, signature and algorithm codes,
  // wrong issuer, status not success) are also returned for logout messages.
  saml_binding_malformed:
    'The HTTP-Redirect or HTTP-POST parameters are unusable: a repeated or missing parameter, invalid URL-encoding or base64, data that does not inflate, or an unknown SAMLEncoding.',
  saml_logout_too_large: 'The logout message is larger than the size limit (encoded, or once inflated: a deflate bomb).',
  saml_not_a_logout_message: 'The message is not the SAML 2.0 LogoutRequest or LogoutResponse expected here.',
  saml_malformed_logout_message:
    'The LogoutRequest or LogoutResponse breaks the SAML 2.0 schema (a required element or attribute is missing, repeated or invalid).',
  saml_logout_missing_issuer: 'The logout message has no Issuer, or an Issuer whose Format is not the entity format (profiles §4.4.4).',
  saml_logout_wrong_destination: 'The logout message Destination is not this connection’s SLO URL, or a signed message has no Destination.',
  saml_logout_expired: 'The logout message is past its NotOnOrAfter, or was issued longer ago than the accepted message age.',
  saml_logout_not_yet_valid: 'The logout message IssueInstant is in the future, beyond the allowed clock skew.',
  saml_logout_in_response_to_mismatch: 'The LogoutResponse does not answer the LogoutRequest that Lanyard sent.',
  saml_logout_unsupported_identifier:
    'The LogoutRequest names the user with an EncryptedID or BaseID; Lanyard matches sessions on a plain NameID.',
  saml_query_signature_invalid:
    'The Signature of an HTTP-Redirect message does not verify with any pinned certificate over the query octets as received.',
} as const satisfies Record<string, string>;

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

/** The result shape of every SAML domain function: a value, or a typed refusal. */
export type SamlResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: SamlError };

/** Builds a failed {@link SamlResult}. */
export function fail(code: SamlErrorCode, message: string, detail?: Record<string, unknown>): { ok: false; error: SamlError } {
  return { ok: false, error: detail === undefined ? { code, message } : { code, message, detail } };
}

/** Builds a successful {@link SamlResult}. */
export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

/** True when `code` is documented in the catalogue (for tests and for callers mapping stored codes). */
export function isSamlErrorCode(code: string): code is SamlErrorCode {
  return Object.hasOwn(SAML_ERROR_CATALOGUE, code);
}
