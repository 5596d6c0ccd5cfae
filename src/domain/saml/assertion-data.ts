import { ok } from '../result.ts';
import { fail, type SamlResult } from './errors.ts';
import { parseInstant } from './time.ts';
import { attr, children, NS, onlyChild, textOf } from './xml.ts';
import type { XmlElement } from './xml-tree.ts';

/** The subject of a verified assertion. */
export interface SubjectIdentity {
  readonly subject: XmlElement;
  readonly nameId: string;
  readonly nameIdFormat: string | null;
  /** NameQualifier and SPNameQualifier (core §2.2.2), kept to repeat them in a LogoutRequest. */
  readonly nameQualifier: string | null;
  readonly spNameQualifier: string | null;
}

/**
 * Reads Subject/NameID (SAML core §2.4.1, §2.2.3). The value is the element's whole text content,
 * text and CDATA concatenated with comments ignored: comments are not covered by the signature
 * (same-document references are dereferenced without comments), so reading only the text before
 * a comment would let anyone truncate a signed identity (CVE-2017-11427 family).
 */
export function readSubject(assertion: XmlElement): SamlResult<SubjectIdentity> {
  const subject = onlyChild(assertion, NS.saml, 'Subject');
  if (subject === 'many') return fail('saml_malformed_response', 'The Assertion has more than one Subject.');
  if (subject === undefined) return fail('saml_missing_name_id', 'The assertion has no Subject, so it does not say who signed in.');
  const nameId = onlyChild(subject, NS.saml, 'NameID');
  if (nameId === 'many') return fail('saml_malformed_response', 'The Subject has more than one NameID.');
  if (nameId === undefined) {
    const encrypted = children(subject, NS.saml, 'EncryptedID').length > 0;
    return fail(
      'saml_missing_name_id',
      encrypted
        ? 'The Subject carries an EncryptedID; configure the identity provider to send a plain NameID (the assertion itself can be encrypted).'
        : 'The Subject has no NameID, so the assertion does not say who signed in.',
    );
  }
  const value = textOf(nameId);
  if (value.trim() === '') return fail('saml_missing_name_id', 'The NameID is empty.');
  return ok({
    subject,
    nameId: value,
    nameIdFormat: attr(nameId, 'Format') ?? null,
    nameQualifier: attr(nameId, 'NameQualifier') ?? null,
    spNameQualifier: attr(nameId, 'SPNameQualifier') ?? null,
  });
}

/** Attribute values by Name, plus FriendlyName where the IdP sent one. */
export interface AssertionAttributes {
  readonly attributes: Record<string, string[]>;
  readonly friendlyNames: Record<string, string>;
}

/**
 * Reads AttributeStatement/Attribute (SAML core §2.7.3). Values are text content (comments
 * ignored, as for NameID); nil values (xsi:nil="true") are skipped; repeated Attribute elements
 * with one Name are merged. Records have no prototype, so a Name like "__proto__" is just a key.
 */
export function readAttributes(assertion: XmlElement): AssertionAttributes {
  const attributes = Object.create(null) as Record<string, string[]>;
  const friendlyNames = Object.create(null) as Record<string, string>;
  for (const statement of children(assertion, NS.saml, 'AttributeStatement')) {
    for (const attribute of children(statement, NS.saml, 'Attribute')) {
      const name = attr(attribute, 'Name');
      if (name === undefined) continue;
      const values = children(attribute, NS.saml, 'AttributeValue')
        .filter((value) => value.getAttributeNS(NS.xsi, 'nil') !== 'true')
        .map((value) => textOf(value));
      attributes[name] = [...(attributes[name] ?? []), ...values];
      const friendlyName = attr(attribute, 'FriendlyName');
      if (friendlyName !== undefined) friendlyNames[name] = friendlyName;
    }
  }
  return { attributes, friendlyNames };
}

/** The first AuthnStatement's facts (SAML core §2.7.2), each null when absent. */
export interface AuthnFacts {
  readonly authnInstant: Date | null;
  readonly sessionIndex: string | null;
  readonly sessionNotOnOrAfter: Date | null;
}

/** Reads the first AuthnStatement; absent statements (some IdPs, e.g. Keycloak, omit it) give nulls. */
export function readAuthn(assertion: XmlElement): SamlResult<AuthnFacts> {
  const statement = children(assertion, NS.saml, 'AuthnStatement')[0];
  if (statement === undefined) return ok({ authnInstant: null, sessionIndex: null, sessionNotOnOrAfter: null });
  const instant = attr(statement, 'AuthnInstant');
  const sessionEnd = attr(statement, 'SessionNotOnOrAfter');
  const authnInstant = instant === undefined ? null : (parseInstant(instant) ?? 'invalid');
  const sessionNotOnOrAfter = sessionEnd === undefined ? null : (parseInstant(sessionEnd) ?? 'invalid');
  if (authnInstant === 'invalid' || sessionNotOnOrAfter === 'invalid') {
    return fail('saml_malformed_response', 'The AuthnStatement has a time that is not a valid xs:dateTime.');
  }
  return ok({ authnInstant, sessionIndex: attr(statement, 'SessionIndex') ?? null, sessionNotOnOrAfter });
}
