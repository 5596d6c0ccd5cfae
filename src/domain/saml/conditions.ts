import { ok } from '../result.ts';
import { fail, type SamlResult } from './errors.ts';
import { formatInstant, parseInstant } from './time.ts';
import { attr, children, NS, onlyChild, textOf } from './xml.ts';
import type { XmlElement } from './xml-tree.ts';

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

/** What the relying party expects of a verified assertion (a subset of the verifier input). */
export interface AssertionExpectations {
  readonly idpEntityId: string;
  readonly spEntityId: string;
  readonly acsUrl: string;
  readonly now: Date;
  readonly clockSkewSeconds: number;
  readonly expectedInResponseTo: string | null;
  readonly checkRecipient: boolean;
  readonly requireAudienceRestriction: boolean;
}

/** Assertion Issuer must be present and equal the configured IdP entity ID (SAML profiles §4.1.4.2). */
export function checkAssertionIssuer(assertion: XmlElement, idpEntityId: string): SamlResult<string> {
  const issuer = onlyChild(assertion, NS.saml, 'Issuer');
  if (issuer === 'many') return fail('saml_malformed_response', 'The Assertion has more than one Issuer.');
  if (issuer === undefined)
    return fail('saml_missing_issuer', 'The Assertion has no Issuer, so it cannot be tied to this identity provider.');
  return checkIssuerValue(textOf(issuer), idpEntityId, 'Assertion');
}

/** Compares an Issuer value with the configured entity ID, exactly (SAML core §8.3.6 entity identifiers). */
export function checkIssuerValue(issuer: string, idpEntityId: string, where: string): SamlResult<string> {
  if (issuer.trim() === idpEntityId) return ok(idpEntityId);
  return fail(
    'saml_wrong_issuer',
    `The ${where} was issued by "${issuer}", but this connection expects the identity provider "${idpEntityId}".`,
    { issuer, expected: idpEntityId },
  );
}

/**
 * Checks saml:Conditions (SAML core §2.5.1): the time window with the allowed skew, and that this
 * SP is an audience of every AudienceRestriction (§2.5.1.4: each restriction must include us).
 * Returns the Conditions NotOnOrAfter, if any.
 */
export function checkConditions(assertion: XmlElement, expect: AssertionExpectations): SamlResult<Date | null> {
  const conditions = onlyChild(assertion, NS.saml, 'Conditions');
  if (conditions === 'many') return fail('saml_malformed_response', 'The Assertion has more than one Conditions element.');
  const window = checkWindow(conditions, expect, 'The assertion');
  if (!window.ok) return window;
  const restrictions = conditions === undefined ? [] : children(conditions, NS.saml, 'AudienceRestriction');
  if (restrictions.length === 0 && expect.requireAudienceRestriction) {
    // SAML profiles §4.1.4.2: a Web SSO assertion MUST carry an AudienceRestriction naming the SP.
    return fail(
      'saml_missing_audience',
      `The assertion has no AudienceRestriction; it must name this service provider ("${expect.spEntityId}") as its audience.`,
    );
  }
  for (const restriction of restrictions) {
    const audiences = children(restriction, NS.saml, 'Audience').map((audience) => textOf(audience).trim());
    if (!audiences.includes(expect.spEntityId)) {
      return fail(
        'saml_wrong_audience',
        `The assertion is meant for ${audiences.map((a) => `"${a}"`).join(', ') || 'no audience'}, not for this service provider ("${expect.spEntityId}"). Check the SP entity ID configured at the identity provider.`,
        { audiences, expected: expect.spEntityId },
      );
    }
  }
  return window;
}

/** A bearer confirmation that passed every check: when it stops being usable, and its InResponseTo. */
export interface ConfirmedSubject {
  readonly notOnOrAfter: Date;
  readonly inResponseTo: string | null;
}

/**
 * SAML profiles §4.1.4.2–4.1.4.3: at least one bearer SubjectConfirmation whose
 * SubjectConfirmationData has a NotOnOrAfter not yet reached, a Recipient equal to the ACS URL and,
 * when present, an InResponseTo equal to the pending request. The first bearer confirmation's
 * error is reported when none qualifies.
 */
export function checkSubjectConfirmation(subject: XmlElement, expect: AssertionExpectations): SamlResult<ConfirmedSubject> {
  const bearers = children(subject, NS.saml, 'SubjectConfirmation').filter((sc) => attr(sc, 'Method') === BEARER);
  if (bearers.length === 0) {
    return fail('saml_missing_subject_confirmation', 'The assertion has no bearer SubjectConfirmation, which browser SSO requires.');
  }
  const results = bearers.map((bearer) => checkBearer(bearer, expect));
  // The first bearer that confirms wins; else the first one's refusal says why.
  return (
    results.find((result) => result.ok) ??
    results[0] ??
    fail('saml_missing_subject_confirmation', 'The assertion has no bearer SubjectConfirmation.')
  );
}

function checkBearer(bearer: XmlElement, expect: AssertionExpectations): SamlResult<ConfirmedSubject> {
  const data = onlyChild(bearer, NS.saml, 'SubjectConfirmationData');
  if (data === 'many') return fail('saml_malformed_response', 'A SubjectConfirmation has more than one SubjectConfirmationData.');
  if (data === undefined || attr(data, 'NotOnOrAfter') === undefined) {
    return fail(
      'saml_missing_subject_confirmation',
      'The bearer SubjectConfirmationData has no NotOnOrAfter; browser SSO requires one to limit how long the assertion can be delivered.',
    );
  }
  const window = checkWindow(data, expect, 'The subject confirmation');
  if (!window.ok) return window;
  const recipient = attr(data, 'Recipient');
  if (expect.checkRecipient && recipient !== expect.acsUrl) {
    return fail(
      'saml_wrong_recipient',
      `The assertion is addressed to "${recipient ?? '(no Recipient)'}", not to this connection's ACS URL "${expect.acsUrl}".`,
      { recipient: recipient ?? null, expected: expect.acsUrl },
    );
  }
  const inResponseTo = attr(data, 'InResponseTo') ?? null;
  if (inResponseTo !== null && inResponseTo !== expect.expectedInResponseTo)
    return inResponseToMismatch(inResponseTo, expect.expectedInResponseTo);
  // Checked above: this SubjectConfirmationData has a NotOnOrAfter, so its window has an end.
  if (window.value === null) return fail('saml_missing_subject_confirmation', 'The bearer SubjectConfirmationData has no NotOnOrAfter.');
  return ok({ notOnOrAfter: window.value, inResponseTo });
}

/** The refusal for an InResponseTo that does not name the pending request. */
export function inResponseToMismatch(actual: string, expected: string | null): SamlResult<never> {
  const message =
    expected === null
      ? `The response answers login request "${actual}", but no login request is pending for this browser (it may have expired or been used already).`
      : `The response answers login request "${actual}", but the pending login request is "${expected}".`;
  return fail('saml_in_response_to_mismatch', message, { inResponseTo: actual, expected });
}

/** Checks NotBefore / NotOnOrAfter of Conditions or SubjectConfirmationData against now ± skew (SAML core §2.5.1.2, §2.4.1.2). */
function checkWindow(element: XmlElement | undefined, expect: AssertionExpectations, what: string): SamlResult<Date | null> {
  if (element === undefined) return ok(null);
  const notBefore = readInstant(element, 'NotBefore');
  const notOnOrAfter = readInstant(element, 'NotOnOrAfter');
  if (notBefore === 'invalid' || notOnOrAfter === 'invalid') {
    return fail('saml_malformed_response', `${what} has a NotBefore/NotOnOrAfter that is not a valid xs:dateTime.`);
  }
  const skew = expect.clockSkewSeconds * 1000;
  const now = expect.now.getTime();
  if (notBefore !== undefined && now + skew < notBefore.getTime()) {
    return fail(
      'saml_not_yet_valid',
      `${what} is not valid before ${formatInstant(notBefore)}, and it is ${formatInstant(expect.now)}. Check the identity provider's clock.`,
      { notBefore: formatInstant(notBefore), now: formatInstant(expect.now) },
    );
  }
  // NotOnOrAfter is exclusive: the instant itself is already too late (SAML core §2.5.1.2).
  if (notOnOrAfter !== undefined && now - skew >= notOnOrAfter.getTime()) {
    return fail(
      'saml_expired',
      `${what} expired at ${formatInstant(notOnOrAfter)}, and it is ${formatInstant(expect.now)}. Try signing in again; if ` +
        `this persists, check the identity provider's clock.`,
      { notOnOrAfter: formatInstant(notOnOrAfter), now: formatInstant(expect.now) },
    );
  }
  return ok(notOnOrAfter ?? null);
}

function readInstant(element: XmlElement, name: string): Date | undefined | 'invalid' {
  const value = attr(element, name);
  if (value === undefined) return undefined;
  return parseInstant(value) ?? 'invalid';
}
