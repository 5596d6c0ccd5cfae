import { ok, type Result } from '../result.ts';
import { fail, type SamlError } from './errors.ts';
import { isXmlText, messageId, samlInstant, xmlAttribute, xmlText, type MessageIdDeps } from './logout-xml.ts';
import { NS } from './xml.ts';

/**
 * The principal's NameID with its qualifiers (SAML core §2.2.2, §2.2.3). A LogoutRequest must repeat
 * them exactly as the IdP sent them in the assertion (core §3.7.3.1 matches the subject "strongly",
 * §3.3.4), so every field is carried verbatim; null or absent means the IdP sent no such attribute.
 */
export interface LogoutNameId {
  readonly value: string;
  readonly format?: string | null;
  readonly nameQualifier?: string | null;
  readonly spNameQualifier?: string | null;
  readonly spProvidedId?: string | null;
}

/** What an SP-initiated LogoutRequest says (SAML core §3.7.1, profiles §4.4.4.1). */
export interface LogoutRequestInput {
  /** The request ID; when absent one is drawn from `deps.randomBytes`. Must be an NCName. */
  readonly id?: string;
  /** IssueInstant. */
  readonly now: Date;
  /** The IdP's SingleLogoutService URL the request is sent to (Destination, required when signed: bindings §3.4.5.2). */
  readonly destination: string;
  /** The SP entity ID (saml:Issuer). */
  readonly issuer: string;
  /** The NameID of the session, as the IdP sent it at login. */
  readonly nameId: LogoutNameId;
  /** The SessionIndex values of the session at the IdP (the AuthnStatement's SessionIndex); none ends all the user's sessions there. */
  readonly sessionIndexes?: readonly string[];
  /** NotOnOrAfter: how long the IdP may act on the request. Default: `now` + {@link DEFAULT_LOGOUT_REQUEST_LIFETIME_SECONDS}. */
  readonly notOnOrAfter?: Date;
  /** Reason (core §3.7.3); default `urn:oasis:names:tc:SAML:2.0:logout:user`, as the user asked to log out. */
  readonly reason?: string;
}

/** A built LogoutRequest: its ID (to store, for the response's InResponseTo), its expiry and its XML. */
export interface LogoutRequest {
  readonly id: string;
  readonly notOnOrAfter: Date;
  readonly xml: string;
}

/** Long enough for a browser round trip through the IdP, short enough that a captured request is soon useless. */
export const DEFAULT_LOGOUT_REQUEST_LIFETIME_SECONDS = 300;

/** The Reason the user asked for the logout (SAML core §3.7.3). */
export const LOGOUT_REASON_USER = 'urn:oasis:names:tc:SAML:2.0:logout:user';

/**
 * Builds an unsigned LogoutRequest (send it with `encodeRedirectBinding`, which signs the query).
 * Element order follows LogoutRequestType: Issuer, NameID, SessionIndex* (core §3.7.1).
 *
 * Returns `saml_logout_unsupported_identifier` when a NameID, qualifier or SessionIndex holds a
 * character XML 1.0 cannot carry (such a value came from the IdP, and no request can name it).
 *
 * @throws RangeError when a given `id` is not an NCName or a date is invalid (programming errors).
 */
export function createLogoutRequest(input: LogoutRequestInput, deps: MessageIdDeps): Result<LogoutRequest, SamlError> {
  const id = messageId(input.id, deps, 'LogoutRequest');
  const expiry = samlInstant(input.notOnOrAfter ?? new Date(input.now.getTime() + DEFAULT_LOGOUT_REQUEST_LIFETIME_SECONDS * 1000));
  const { nameId } = input;
  const sessionIndexes = input.sessionIndexes ?? [];
  const carried = [nameId.value, nameId.format, nameId.nameQualifier, nameId.spNameQualifier, nameId.spProvidedId, ...sessionIndexes];
  if (!carried.every((value) => value === undefined || value === null || isXmlText(value))) {
    return fail(
      'saml_logout_unsupported_identifier',
      'The NameID or SessionIndex of this session holds characters that XML cannot carry, so no LogoutRequest can name it.',
    );
  }
  const nameIdAttributes =
    optional('Format', nameId.format) +
    optional('NameQualifier', nameId.nameQualifier) +
    optional('SPNameQualifier', nameId.spNameQualifier) +
    optional('SPProvidedID', nameId.spProvidedId);
  const xml =
    `<samlp:LogoutRequest xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}"` +
    `${xmlAttribute('ID', id)} Version="2.0"${xmlAttribute('IssueInstant', samlInstant(input.now))}` +
    `${xmlAttribute('Destination', input.destination)}${xmlAttribute('NotOnOrAfter', expiry)}` +
    `${xmlAttribute('Reason', input.reason ?? LOGOUT_REASON_USER)}>` +
    `<saml:Issuer>${xmlText(input.issuer)}</saml:Issuer>` +
    `<saml:NameID${nameIdAttributes}>${xmlText(nameId.value)}</saml:NameID>` +
    sessionIndexes.map((index) => `<samlp:SessionIndex>${xmlText(index)}</samlp:SessionIndex>`).join('') +
    `</samlp:LogoutRequest>`;
  return ok({ id, notOnOrAfter: new Date(expiry), xml });
}

function optional(name: string, value: string | null | undefined): string {
  return value === undefined || value === null ? '' : xmlAttribute(name, value);
}
