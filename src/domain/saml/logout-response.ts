import { isXmlText, messageId, samlInstant, xmlAttribute, xmlText, type MessageIdDeps } from './logout-xml.ts';
import { NS } from './xml.ts';

const STATUS = 'urn:oasis:names:tc:SAML:2.0:status:';

/** SAML core §3.2.2.2 top-level codes, and §3.7.3.2's second-level PartialLogout. */
export const LOGOUT_STATUS = {
  success: `${STATUS}Success`,
  requester: `${STATUS}Requester`,
  responder: `${STATUS}Responder`,
  partialLogout: `${STATUS}PartialLogout`,
} as const;

/**
 * How the logout went here:
 * - `success`: every session the request named is ended and every application was told;
 * - `partial_logout`: the sessions are ended here, but some application could not be told. SAML core
 *   §3.7.3.2 says the top-level code reports the responder's own state (so Success) and a second-level
 *   `PartialLogout` says that not all participants confirmed;
 * - `requester` / `responder`: the request could not be honoured, through the IdP's fault or ours.
 */
export type LogoutOutcome = 'success' | 'partial_logout' | 'requester' | 'responder';

/** What a LogoutResponse to an IdP's LogoutRequest says (SAML core §3.7.2, profiles §4.4.4.2). */
export interface LogoutResponseInput {
  /** The response ID; when absent one is drawn from `deps.randomBytes`. Must be an NCName. */
  readonly id?: string;
  /** IssueInstant. */
  readonly now: Date;
  /** The IdP's SingleLogoutService (Response)Location the response is sent to. */
  readonly destination: string;
  /** The SP entity ID (saml:Issuer). */
  readonly issuer: string;
  /** The ID of the verified LogoutRequest being answered. */
  readonly inResponseTo: string;
  /** Default `success`. */
  readonly outcome?: LogoutOutcome;
  /** An optional StatusMessage for the IdP's logs (never secrets). */
  readonly statusMessage?: string;
}

/** A built LogoutResponse: its ID and its XML, unsigned (send it with `encodeRedirectBinding`, parameter `SAMLResponse`). */
export interface LogoutResponse {
  readonly id: string;
  readonly xml: string;
}

/**
 * Builds a LogoutResponse (StatusResponseType: Issuer, Status; core §3.2.2).
 *
 * @throws RangeError when a given `id` is not an NCName, a date is invalid, or `inResponseTo` or the
 * status message holds characters XML cannot carry (the verifier never returns such an ID).
 */
export function createLogoutResponse(input: LogoutResponseInput, deps: MessageIdDeps): LogoutResponse {
  const id = messageId(input.id, deps, 'LogoutResponse');
  if (!isXmlText(input.inResponseTo) || (input.statusMessage !== undefined && !isXmlText(input.statusMessage))) {
    throw new RangeError('InResponseTo and StatusMessage must be text XML can carry.');
  }
  const xml =
    `<samlp:LogoutResponse xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}"` +
    `${xmlAttribute('ID', id)} Version="2.0"${xmlAttribute('IssueInstant', samlInstant(input.now))}` +
    `${xmlAttribute('Destination', input.destination)}${xmlAttribute('InResponseTo', input.inResponseTo)}>` +
    `<saml:Issuer>${xmlText(input.issuer)}</saml:Issuer>` +
    statusXml(input.outcome ?? 'success', input.statusMessage) +
    `</samlp:LogoutResponse>`;
  return { id, xml };
}

function statusXml(outcome: LogoutOutcome, message: string | undefined): string {
  const code =
    outcome === 'partial_logout'
      ? `<samlp:StatusCode Value="${LOGOUT_STATUS.success}"><samlp:StatusCode Value="${LOGOUT_STATUS.partialLogout}"/></samlp:StatusCode>`
      : `<samlp:StatusCode Value="${outcome === 'success' ? LOGOUT_STATUS.success : LOGOUT_STATUS[outcome]}"/>`;
  const text = message === undefined ? '' : `<samlp:StatusMessage>${xmlText(message)}</samlp:StatusMessage>`;
  return `<samlp:Status>${code}${text}</samlp:Status>`;
}
