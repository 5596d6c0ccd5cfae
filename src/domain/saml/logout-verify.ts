import { ok, type Result } from '../result.ts';
import { fail, type SamlError } from './errors.ts';
import {
  checkInResponseTo,
  checkLogoutEnvelope,
  readLogoutRequestBody,
  readLogoutStatus,
  type LogoutEnvelope,
  type LogoutExpectations,
  type LogoutRequestBody,
  type LogoutStatusFacts,
} from './logout-checks.ts';
import { decodeBase64, inflateRedirectMessage, readRedirectQuery, verifyRedirectSignature } from './redirect-binding.ts';
import { readSignature, verifySignature, type SignatureTrust, type TrustedCertificate } from './signature.ts';
import { indexDocument, pathOf } from './structure.ts';
import { children, descendants, NS, parseXml } from './xml.ts';
import type { XmlElement } from './xml-tree.ts';

/**
 * A logout message as it reached the SLO URL. HTTP-Redirect: the raw query string, exactly as
 * received (the signature covers its URL-encoded bytes, bindings §3.4.4.1). HTTP-POST (§3.5): the
 * SAMLRequest or SAMLResponse form field and the RelayState field, form-decoded.
 */
export type ReceivedLogoutMessage =
  | { readonly binding: 'redirect'; readonly rawQuery: string }
  | { readonly binding: 'post'; readonly message: string; readonly relayState?: string | null };

/** Everything the verifiers need; all of it comes from the connection. */
export interface VerifyLogoutInput {
  readonly received: ReceivedLogoutMessage;
  /** Expected Issuer. */
  readonly idpEntityId: string;
  /** Pinned IdP signing certificates; a key named in the message is never trusted. */
  readonly trustedCerts: readonly TrustedCertificate[];
  /** This connection's SLO URL, expected as Destination. */
  readonly sloUrl: string;
  readonly now: Date;
  /** Tolerance for clock differences with the IdP, in seconds (negative or non-finite counts as 0). */
  readonly clockSkewSeconds: number;
  /** Accept RSA-SHA1 (legacy IdPs). Default false. */
  readonly allowSha1?: boolean;
  /** Accept unsigned messages (SAML core §3.7.1 says SHOULD be signed). Default false. */
  readonly allowUnsigned?: boolean;
  /** How long after its IssueInstant a message is accepted. Default {@link DEFAULT_MAX_LOGOUT_AGE_SECONDS}. */
  readonly maxMessageAgeSeconds?: number;
  /** Refuse larger messages (bytes of XML, after inflating). Default {@link DEFAULT_MAX_LOGOUT_BYTES}. */
  readonly maxBytes?: number;
}

export interface VerifyLogoutResponseInput extends VerifyLogoutInput {
  /** The ID of the LogoutRequest Lanyard sent for this browser, or null when none is pending. */
  readonly expectedInResponseTo: string | null;
}

/** How a verified message arrived. */
export interface LogoutMessageOrigin {
  readonly binding: 'redirect' | 'post';
  /** Covered by the signature in the Redirect binding; never in the POST binding (a plain form field). */
  readonly relayState: string | null;
  readonly signed: boolean;
  /** The pinned certificate that verified the signature; null for an accepted unsigned message. */
  readonly signingCertificateFingerprintSha256: string | null;
}

/** A verified LogoutRequest. Refuse a replay by keeping `id` until `replayExpiresAt`. */
export interface VerifiedLogoutRequest extends LogoutEnvelope, LogoutMessageOrigin, LogoutRequestBody {}

/** A verified LogoutResponse with a Success status (`partialLogout` when the IdP could not log out everyone). */
export interface VerifiedLogoutResponse extends LogoutEnvelope, LogoutMessageOrigin, LogoutStatusFacts {
  readonly inResponseTo: string;
}

/** Real logout messages are 1–6 KB; this leaves room for long NameIDs and certificates in KeyInfo. */
export const DEFAULT_MAX_LOGOUT_BYTES = 64 * 1024;
/** SimpleSAMLphp gives its LogoutRequests 300 s (its assertion.lifetime); a browser hop takes seconds. */
export const DEFAULT_MAX_LOGOUT_AGE_SECONDS = 300;

type LogoutKind = 'LogoutRequest' | 'LogoutResponse';

/**
 * Verifies an IdP's LogoutRequest (SAML core §3.7.1, profiles §4.4.3.3) received with the
 * HTTP-Redirect or HTTP-POST binding, and returns what it asks to end, or a typed refusal; never
 * throws. Pure: no I/O, no clock. The caller must still refuse a replayed `id` and end only the
 * sessions of this connection that match `nameId` and `sessionIndexes`.
 */
export function verifyLogoutRequest(input: VerifyLogoutInput): Result<VerifiedLogoutRequest, SamlError> {
  return guarded(input, () => {
    const opened = openLogoutMessage(input, 'LogoutRequest');
    if (!opened.ok) return opened;
    const { root, origin } = opened.value;
    const body = readLogoutRequestBody(root);
    if (!body.ok) return body;
    const envelope = checkLogoutEnvelope(root, expectations(input, origin.signed), body.value.notOnOrAfter);
    if (!envelope.ok) return envelope;
    return ok({ ...envelope.value, ...origin, ...body.value });
  });
}

/**
 * Verifies the IdP's LogoutResponse to a LogoutRequest Lanyard sent (profiles §4.4.3.5): signature,
 * Issuer, Destination, time, InResponseTo, and a top-level Success status. Never throws.
 */
export function verifyLogoutResponse(input: VerifyLogoutResponseInput): Result<VerifiedLogoutResponse, SamlError> {
  return guarded(input, () => {
    const opened = openLogoutMessage(input, 'LogoutResponse');
    if (!opened.ok) return opened;
    const { root, origin } = opened.value;
    const envelope = checkLogoutEnvelope(root, expectations(input, origin.signed), null);
    if (!envelope.ok) return envelope;
    const inResponseTo = checkInResponseTo(root, input.expectedInResponseTo);
    if (!inResponseTo.ok) return inResponseTo;
    const status = readLogoutStatus(root);
    if (!status.ok) return status;
    return ok({ ...envelope.value, ...origin, ...status.value, inResponseTo: inResponseTo.value });
  });
}

function guarded<T>(input: VerifyLogoutInput, verify: () => Result<T, SamlError>): Result<T, SamlError> {
  try {
    if (Number.isNaN(input.now.getTime())) return fail('saml_internal_error', 'The verifier was called without a valid current time.');
    return verify();
  } catch (error) {
    return fail('saml_internal_error', 'The logout message could not be verified because of an internal error, so it was refused.', {
      cause: String(error),
    });
  }
}

function expectations(input: VerifyLogoutInput, signed: boolean): LogoutExpectations {
  const positive = (value: number | undefined, fallback: number) =>
    value !== undefined && Number.isFinite(value) && value > 0 ? value : fallback;
  return {
    idpEntityId: input.idpEntityId,
    sloUrl: input.sloUrl,
    now: input.now,
    clockSkewSeconds: positive(input.clockSkewSeconds, 0),
    maxMessageAgeSeconds: positive(input.maxMessageAgeSeconds, DEFAULT_MAX_LOGOUT_AGE_SECONDS),
    signed,
  };
}

/**
 * The message's root element, authenticated as the binding requires, and how it came. RelayState is
 * held to the 80 bytes bindings §3.4.3 allows, so that whatever is accepted can be sent back with
 * encodeRedirectBinding (which enforces the same limit).
 */
function openLogoutMessage(
  input: VerifyLogoutInput,
  kind: LogoutKind,
): Result<{ root: XmlElement; origin: LogoutMessageOrigin }, SamlError> {
  const policy: SignatureTrust = { trustedCerts: input.trustedCerts, allowSha1: input.allowSha1 ?? false };
  const allowUnsigned = input.allowUnsigned ?? false;
  const maxBytes = input.maxBytes ?? DEFAULT_MAX_LOGOUT_BYTES;
  const { received } = input;
  const opened =
    received.binding === 'redirect'
      ? openRedirect(received.rawQuery, kind, policy, allowUnsigned, maxBytes)
      : openPost(received.message, received.relayState ?? null, kind, policy, allowUnsigned, maxBytes);
  if (!opened.ok) return opened;
  const { relayState } = opened.value.origin;
  if (relayState !== null && (Buffer.byteLength(relayState, 'utf8') > MAX_RELAY_STATE_BYTES || LONE_SURROGATE.test(relayState))) {
    return fail('saml_binding_malformed', `The RelayState is not text of at most ${MAX_RELAY_STATE_BYTES} bytes (bindings §3.4.3).`);
  }
  return opened;
}

const MAX_RELAY_STATE_BYTES = 80;
const LONE_SURROGATE = /\p{Cs}/u;

type Opened = Result<{ root: XmlElement; origin: LogoutMessageOrigin }, SamlError>;

function openRedirect(rawQuery: string, kind: LogoutKind, policy: SignatureTrust, allowUnsigned: boolean, maxBytes: number): Opened {
  const query = readRedirectQuery(rawQuery);
  if (!query.ok) return query;
  if (query.value.parameter !== (kind === 'LogoutRequest' ? 'SAMLRequest' : 'SAMLResponse')) {
    return fail('saml_not_a_logout_message', `A ${query.value.parameter} arrived where a ${kind} was expected.`);
  }
  // Authenticate before inflating or parsing anything (W3C XML Signature Best Practices §2.1).
  const signature = verifyRedirectSignature(query.value, policy, allowUnsigned);
  if (!signature.ok) return signature;
  const xml = inflateRedirectMessage(query.value.message, maxBytes);
  if (!xml.ok) return xml;
  // A ds:Signature left inside the XML is not used: the binding has the sender remove it (§3.4.4.1).
  const root = parseLogoutXml(xml.value, maxBytes, kind);
  if (!root.ok) return root;
  const fingerprint = signature.value.fingerprintSha256;
  return ok({
    root: root.value,
    origin: {
      binding: 'redirect',
      relayState: query.value.relayState,
      signed: fingerprint !== null,
      signingCertificateFingerprintSha256: fingerprint,
    },
  });
}

function openPost(
  message: string,
  relayState: string | null,
  kind: LogoutKind,
  policy: SignatureTrust,
  allowUnsigned: boolean,
  maxBytes: number,
): Opened {
  const xml = decodePostMessage(message, maxBytes);
  if (!xml.ok) return xml;
  const root = parseLogoutXml(xml.value, maxBytes, kind);
  if (!root.ok) return root;
  const fingerprint = verifyEnvelopedSignature(root.value, policy, allowUnsigned);
  if (!fingerprint.ok) return fingerprint;
  return ok({
    root: root.value,
    origin: { binding: 'post', relayState, signed: fingerprint.value !== null, signingCertificateFingerprintSha256: fingerprint.value },
  });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Bindings §3.5.4: the form field is the base64 of the XML (no DEFLATE). */
function decodePostMessage(message: string, maxBytes: number): Result<string, SamlError> {
  if (message.length > Math.ceil((maxBytes * 4) / 3) + 4) {
    return fail('saml_logout_too_large', `The encoded message is larger than ${maxBytes} bytes.`, { maxBytes });
  }
  const bytes = decodeBase64(message);
  if (bytes === undefined) return fail('saml_binding_malformed', 'The posted message is not valid base64.');
  try {
    return ok(UTF8.decode(bytes));
  } catch {
    return fail('saml_binding_malformed', 'The posted message is not UTF-8 text.');
  }
}

/** Parses with the safe entry point, then the whole-document pass (IDs unique, no PIs or NULs). */
function parseLogoutXml(xml: string, maxBytes: number, kind: LogoutKind): Result<XmlElement, SamlError> {
  const parsed = parseXml(xml, maxBytes);
  if (!parsed.ok) {
    const { code, message } = parsed.error;
    if (code === 'xml_too_large')
      return fail('saml_logout_too_large', `The logout message is larger than ${maxBytes} bytes.`, { maxBytes });
    return fail(code === 'xml_doctype_forbidden' ? 'saml_doctype_forbidden' : 'saml_malformed_xml', message);
  }
  const { root } = parsed.value;
  if (root.namespaceURI !== NS.samlp || root.localName !== kind) {
    return fail(
      'saml_not_a_logout_message',
      `The document is a <${root.nodeName}> (namespace ${root.namespaceURI ?? 'none'}), not a SAML 2.0 ${kind}.`,
    );
  }
  const indexed = indexDocument(root, new Set());
  if (!indexed.ok) return indexed;
  for (const element of descendants(root)) {
    const isLogout = element.namespaceURI === NS.samlp && (element.localName === 'LogoutRequest' || element.localName === 'LogoutResponse');
    if (isLogout && element !== root) {
      return fail(
        'saml_signature_wrapping',
        `A second logout message is hidden at ${pathOf(element)}; a genuine one never contains another.`,
      );
    }
  }
  return ok(root);
}

/**
 * The POST binding's enveloped signature on the message element itself (SAML core §5.4): read and
 * verified with signature.ts, whose Reference check makes the signed element the root we then read.
 * Returns the verifying certificate's fingerprint, or null for an accepted unsigned message.
 */
function verifyEnvelopedSignature(root: XmlElement, policy: SignatureTrust, allowUnsigned: boolean): Result<string | null, SamlError> {
  const signatures = children(root, NS.ds, 'Signature');
  if (signatures.length > 1)
    return fail('saml_signature_wrapping', `${pathOf(root)} carries ${signatures.length} signatures; one is accepted.`);
  const [signature] = signatures;
  if (signature === undefined) {
    if (allowUnsigned) return ok(null);
    return fail(
      'saml_signature_missing',
      `The ${root.localName} is not signed, and this connection requires signed logout messages. ` +
        'Configure the identity provider to sign logout messages.',
    );
  }
  const unverified = readSignature(signature, root, policy);
  if (!unverified.ok) return unverified;
  const verified = verifySignature(unverified.value, policy);
  return verified.ok ? ok(verified.value.fingerprintSha256) : verified;
}
