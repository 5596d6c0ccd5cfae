import { checkIssuerValue, inResponseToMismatch } from './conditions.ts';
import { ok } from '../result.ts';
import { fail, type SamlResult } from './errors.ts';
import { attr, children, NS, onlyChild, textOf } from './xml.ts';
import type { XmlElement } from './xml-tree.ts';

const STATUS_SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

/** What the Response element itself must match. */
export interface ResponseExpectations {
  readonly idpEntityId: string;
  readonly acsUrl: string;
  readonly expectedInResponseTo: string | null;
}

/** SAML core §3.2.2.2: anything but a top-level Success is a refusal; the IdP's codes and message are reported. */
export function checkStatus(unverifiedResponse: XmlElement): SamlResult<true> {
  const status = onlyChild(unverifiedResponse, NS.samlp, 'Status');
  const topCode = status === undefined || status === 'many' ? undefined : onlyChild(status, NS.samlp, 'StatusCode');
  if (status === undefined || status === 'many' || topCode === undefined || topCode === 'many') {
    return fail('saml_malformed_response', 'The Response must contain exactly one Status with one StatusCode.');
  }
  const codes: string[] = [];
  for (let code: XmlElement | undefined = topCode; code !== undefined; code = children(code, NS.samlp, 'StatusCode')[0]) {
    codes.push(attr(code, 'Value') ?? '(no value)');
  }
  if (codes[0] === STATUS_SUCCESS) return ok(true);
  const statusMessage = children(status, NS.samlp, 'StatusMessage')[0];
  const idpMessage = statusMessage === undefined ? null : textOf(statusMessage).trim();
  const shortCodes = codes.map((code) => code.replace('urn:oasis:names:tc:SAML:2.0:status:', '')).join(' / ');
  return fail(
    'saml_status_not_success',
    `The identity provider did not sign the user in: status ${shortCodes}${idpMessage ? `, "${idpMessage}"` : ''}.`,
    { statusCodes: codes, statusMessage: idpMessage },
  );
}

/** Where the one assertion is: plain, or still encrypted. */
export type AssertionSlot =
  { readonly plain: XmlElement; readonly encrypted?: undefined } | { readonly plain?: undefined; readonly encrypted: XmlElement };

/** Exactly one Assertion or EncryptedAssertion directly under the Response (SAML profiles §4.1.4.2 allows more; we refuse them to rule out XSW). */
export function locateAssertion(response: XmlElement): SamlResult<AssertionSlot> {
  const plain = children(response, NS.saml, 'Assertion');
  const encrypted = children(response, NS.saml, 'EncryptedAssertion');
  const count = plain.length + encrypted.length;
  if (count > 1) return fail('saml_multiple_assertions', `The Response contains ${count} assertions; exactly one is accepted.`, { count });
  const [assertion] = plain;
  const [encryptedAssertion] = encrypted;
  if (assertion !== undefined) return ok({ plain: assertion });
  if (encryptedAssertion !== undefined) return ok({ encrypted: encryptedAssertion });
  return fail('saml_no_assertion', 'The Response contains no Assertion, so it does not say who signed in.');
}

/** Response-level checks: ID, Destination (SAML core §3.2.2, profiles §4.1.4.3), Issuer (§4.1.4.2), InResponseTo. */
export function checkResponseFields(
  response: XmlElement,
  input: ResponseExpectations,
): SamlResult<{ responseId: string; inResponseTo: string | null }> {
  const responseId = attr(response, 'ID');
  if (responseId === undefined || responseId === '') return fail('saml_malformed_response', 'The Response has no ID.');
  const destination = attr(response, 'Destination');
  if (destination !== undefined && destination !== input.acsUrl) {
    return fail(
      'saml_wrong_destination',
      `The Response was sent to "${destination}", but this connection's ACS URL is "${input.acsUrl}". Check the ACS URL ` +
        `configured at the identity provider.`,
      { destination, expected: input.acsUrl },
    );
  }
  const issuer = onlyChild(response, NS.saml, 'Issuer');
  if (issuer === 'many') return fail('saml_malformed_response', 'The Response has more than one Issuer.');
  if (issuer !== undefined) {
    const checked = checkIssuerValue(textOf(issuer), input.idpEntityId, 'Response');
    if (!checked.ok) return checked;
  }
  const inResponseTo = attr(response, 'InResponseTo') ?? null;
  if (inResponseTo !== null && inResponseTo !== input.expectedInResponseTo)
    return inResponseToMismatch(inResponseTo, input.expectedInResponseTo);
  return ok({ responseId, inResponseTo });
}
