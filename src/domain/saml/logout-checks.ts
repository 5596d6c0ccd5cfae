import { ok, type Result } from '../result.ts';
import { checkIssuerValue } from './conditions.ts';
import { fail, type SamlError } from './errors.ts';
import type { LogoutNameId } from './logout-request.ts';
import { LOGOUT_STATUS } from './logout-response.ts';
import { isXmlText } from './logout-xml.ts';
import { formatInstant, parseInstant } from './time.ts';
import { attr, childElements, children, NS, onlyChild, textOf } from './xml.ts';
import type { XmlElement } from './xml-tree.ts';

const ENTITY_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity';
/** Longer than any ID an IdP writes; keeps replay-cache keys small. */
const MAX_ID_LENGTH = 256;

/** What every inbound logout message is checked against; all of it comes from the connection. */
export interface LogoutExpectations {
  readonly idpEntityId: string;
  /** This connection's SLO URL, expected as Destination. */
  readonly sloUrl: string;
  readonly now: Date;
  /** Non-negative, finite. */
  readonly clockSkewSeconds: number;
  /** How long after its IssueInstant a message is still accepted. */
  readonly maxMessageAgeSeconds: number;
  /** Whether the message was signed (then Destination is required: bindings §3.4.5.2, §3.5.5.2). */
  readonly signed: boolean;
}

/** The facts every verified logout message carries. */
export interface LogoutEnvelope {
  readonly id: string;
  readonly issuer: string;
  readonly issueInstant: Date;
  readonly destination: string | null;
  /** Keep `id` in the replay cache until then; after it the message is refused as expired anyway. */
  readonly replayExpiresAt: Date;
}

/**
 * Checks what RequestAbstractType and StatusResponseType share (SAML core §3.2.1, §3.2.2) as the
 * Single Logout profile uses them (profiles §4.4.4): ID, Version, IssueInstant, Destination, Issuer,
 * and the time window (with the request's NotOnOrAfter, core §3.7.1, when it has one).
 */
export function checkLogoutEnvelope(
  verifiedRoot: XmlElement,
  expect: LogoutExpectations,
  notOnOrAfter: Date | null,
): Result<LogoutEnvelope, SamlError> {
  const what = verifiedRoot.localName;
  const id = attr(verifiedRoot, 'ID');
  if (id === undefined || id === '' || id.length > MAX_ID_LENGTH || /\s/.test(id) || !isXmlText(id)) {
    return fail('saml_malformed_logout_message', `The ${what} has no usable ID.`);
  }
  if (attr(verifiedRoot, 'Version') !== '2.0') {
    return fail('saml_malformed_logout_message', `The ${what} is not SAML version 2.0.`, {
      version: attr(verifiedRoot, 'Version') ?? null,
    });
  }
  const issueInstant = parseInstant(attr(verifiedRoot, 'IssueInstant') ?? '');
  if (issueInstant === undefined) return fail('saml_malformed_logout_message', `The ${what} has no valid IssueInstant.`);
  const destination = attr(verifiedRoot, 'Destination') ?? null;
  if ((destination === null && expect.signed) || (destination !== null && destination !== expect.sloUrl)) {
    return fail(
      'saml_logout_wrong_destination',
      `The ${what} was sent to "${destination ?? '(no Destination)'}", but this connection's SLO URL is "${expect.sloUrl}". ` +
        'Check the SLO URL configured at the identity provider.',
      { destination, expected: expect.sloUrl },
    );
  }
  const issuer = checkIssuer(verifiedRoot, expect.idpEntityId, what);
  if (!issuer.ok) return issuer;
  const window = checkWindow(issueInstant, notOnOrAfter, expect, what);
  if (!window.ok) return window;
  return ok({ id, issuer: issuer.value, issueInstant, destination, replayExpiresAt: window.value });
}

/** Profiles §4.4.4.1–2: the Issuer MUST be present, with no Format or the entity Format. */
function checkIssuer(verifiedRoot: XmlElement, idpEntityId: string, what: string): Result<string, SamlError> {
  const issuer = onlyChild(verifiedRoot, NS.saml, 'Issuer');
  if (issuer === 'many') return fail('saml_malformed_logout_message', `The ${what} has more than one Issuer.`);
  if (issuer === undefined)
    return fail('saml_logout_missing_issuer', `The ${what} has no Issuer, so it cannot be tied to this identity provider.`);
  const format = attr(issuer, 'Format');
  if (format !== undefined && format !== ENTITY_FORMAT) {
    return fail('saml_logout_missing_issuer', `The ${what} Issuer has the Format "${format}" instead of the entity format.`, { format });
  }
  return checkIssuerValue(textOf(issuer), idpEntityId, what);
}

/** IssueInstant not ahead of now beyond the skew, not older than the accepted age, NotOnOrAfter not reached (exclusive). */
function checkWindow(issueInstant: Date, notOnOrAfter: Date | null, expect: LogoutExpectations, what: string): Result<Date, SamlError> {
  const skew = expect.clockSkewSeconds * 1000;
  const now = expect.now.getTime();
  if (issueInstant.getTime() - skew > now) {
    return fail(
      'saml_logout_not_yet_valid',
      `The ${what} was issued at ${formatInstant(issueInstant)}, after the current time ${formatInstant(expect.now)}. ` +
        "Check the identity provider's clock.",
      { issueInstant: formatInstant(issueInstant), now: formatInstant(expect.now) },
    );
  }
  const ageLimit = issueInstant.getTime() + expect.maxMessageAgeSeconds * 1000;
  const limit = notOnOrAfter === null ? ageLimit : Math.min(ageLimit, notOnOrAfter.getTime());
  if (now - skew >= limit) {
    return fail(
      'saml_logout_expired',
      notOnOrAfter !== null && notOnOrAfter.getTime() <= ageLimit
        ? `The ${what} expired at ${formatInstant(notOnOrAfter)}, and it is ${formatInstant(expect.now)}.`
        : `The ${what} was issued at ${formatInstant(issueInstant)}, more than ${expect.maxMessageAgeSeconds} seconds ` +
            `before ${formatInstant(expect.now)}.`,
      { issueInstant: formatInstant(issueInstant), notOnOrAfter: notOnOrAfter === null ? null : formatInstant(notOnOrAfter) },
    );
  }
  return ok(new Date(limit + skew));
}

/** A NameID as received; every attribute the IdP left out is null. Pass it to createLogoutRequest as is. */
export interface VerifiedNameId extends LogoutNameId {
  readonly value: string;
  readonly format: string | null;
  readonly nameQualifier: string | null;
  readonly spNameQualifier: string | null;
  readonly spProvidedId: string | null;
}

/** The body of a LogoutRequest (core §3.7.1). */
export interface LogoutRequestBody {
  readonly nameId: VerifiedNameId;
  readonly sessionIndexes: readonly string[];
  readonly reason: string | null;
  readonly notOnOrAfter: Date | null;
}

/**
 * Reads NameID (with its qualifiers, verbatim) and every SessionIndex. The NameID value is its whole
 * text, comments ignored, as the signature covers it (the CVE-2017-11427 family, as in assertion-data.ts).
 */
export function readLogoutRequestBody(verifiedRequest: XmlElement): Result<LogoutRequestBody, SamlError> {
  const identifiers = childElements(verifiedRequest).filter(
    (el) => el.namespaceURI === NS.saml && ['BaseID', 'NameID', 'EncryptedID'].includes(el.localName),
  );
  const [identifier, ...more] = identifiers;
  if (identifier === undefined || more.length > 0) {
    return fail(
      'saml_malformed_logout_message',
      `The LogoutRequest must name the user with exactly one NameID (it has ${identifiers.length}).`,
    );
  }
  if (identifier.localName !== 'NameID') {
    return fail(
      'saml_logout_unsupported_identifier',
      `The LogoutRequest names the user with a ${identifier.localName}; configure the identity provider to send a plain NameID in logout messages.`,
    );
  }
  const value = textOf(identifier);
  if (value.trim() === '') return fail('saml_malformed_logout_message', 'The LogoutRequest NameID is empty.');
  const notOnOrAfterText = attr(verifiedRequest, 'NotOnOrAfter');
  const notOnOrAfter = notOnOrAfterText === undefined ? null : parseInstant(notOnOrAfterText);
  if (notOnOrAfter === undefined)
    return fail('saml_malformed_logout_message', 'The LogoutRequest NotOnOrAfter is not a valid xs:dateTime.');
  return ok({
    nameId: {
      value,
      format: attr(identifier, 'Format') ?? null,
      nameQualifier: attr(identifier, 'NameQualifier') ?? null,
      spNameQualifier: attr(identifier, 'SPNameQualifier') ?? null,
      spProvidedId: attr(identifier, 'SPProvidedID') ?? null,
    },
    sessionIndexes: children(verifiedRequest, NS.samlp, 'SessionIndex').map((index) => textOf(index)),
    reason: attr(verifiedRequest, 'Reason') ?? null,
    notOnOrAfter,
  });
}

/** The Status of a LogoutResponse that reports success, possibly partial. */
export interface LogoutStatusFacts {
  readonly partialLogout: boolean;
  readonly statusCodes: readonly string[];
  readonly statusMessage: string | null;
}

/**
 * SAML core §3.7.3.2: the top-level code is the responder's own logout; a second-level PartialLogout
 * says some other participant could not be logged out. Anything but a top-level Success is a refusal.
 */
export function readLogoutStatus(verifiedResponse: XmlElement): Result<LogoutStatusFacts, SamlError> {
  const status = onlyChild(verifiedResponse, NS.samlp, 'Status');
  const top = status === undefined || status === 'many' ? undefined : onlyChild(status, NS.samlp, 'StatusCode');
  if (status === undefined || status === 'many' || top === undefined || top === 'many') {
    return fail('saml_malformed_logout_message', 'The LogoutResponse must contain exactly one Status with one StatusCode.');
  }
  const statusCodes: string[] = [];
  for (let code: XmlElement | undefined = top; code !== undefined; code = children(code, NS.samlp, 'StatusCode')[0]) {
    statusCodes.push(attr(code, 'Value') ?? '(no value)');
  }
  const messageElement = children(status, NS.samlp, 'StatusMessage')[0];
  const statusMessage = messageElement === undefined ? null : textOf(messageElement).trim();
  if (statusCodes[0] !== LOGOUT_STATUS.success) {
    const shortCodes = statusCodes.map((code) => code.replace('urn:oasis:names:tc:SAML:2.0:status:', '')).join(' / ');
    return fail(
      'saml_status_not_success',
      `The identity provider did not log the user out: status ${shortCodes}${statusMessage ? `, "${statusMessage}"` : ''}.`,
      { statusCodes, statusMessage },
    );
  }
  return ok({ partialLogout: statusCodes.slice(1).includes(LOGOUT_STATUS.partialLogout), statusCodes, statusMessage });
}

/** The LogoutResponse must answer the LogoutRequest Lanyard sent (core §3.2.2 InResponseTo). */
export function checkInResponseTo(verifiedResponse: XmlElement, expected: string | null): Result<string, SamlError> {
  const inResponseTo = attr(verifiedResponse, 'InResponseTo') ?? null;
  if (inResponseTo !== null && inResponseTo === expected) return ok(inResponseTo);
  return fail(
    'saml_logout_in_response_to_mismatch',
    expected === null
      ? `The LogoutResponse answers "${inResponseTo ?? '(nothing)'}", but no logout is pending for this browser ` +
          '(it may have expired or been completed already).'
      : `The LogoutResponse answers "${inResponseTo ?? '(nothing)'}", but the pending LogoutRequest is "${expected}".`,
    { inResponseTo, expected },
  );
}
