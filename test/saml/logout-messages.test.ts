/**
 * Inbound logout messages once decoded (SAML core §3.7, profiles §4.4.4): the XML (safe parsing, schema)
 * and every field check of verifyLogoutRequest / verifyLogoutResponse, sent with the HTTP-Redirect
 * binding. Each check has a case here that is accepted without it, so removing the check fails a test.
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSamlErrorCode } from '../../src/domain/saml/errors.ts';
import type { VerifiedLogoutResponse } from '../../src/domain/saml/logout-verify.ts';
import {
  accepted,
  buildLogoutRequestXml,
  buildLogoutResponseXml,
  LOGOUT_REQUEST_ID,
  NAME_ID_XML,
  redirectQuery,
  redirectRequest as request,
  redirectResponse as response,
  refused,
  seenLogoutCodes,
  SLO,
  SP_REQUEST_ID,
} from '../support/logout-builder.ts';
import { at, IDP, NOW, SP, testKeys } from '../support/saml-builder.ts';

describe('LogoutRequest XML (parsed with the safe entry point)', () => {
  test('a DOCTYPE is refused even when signed', () => {
    const xml = `<!DOCTYPE x [<!ENTITY e "alice@example.com">]>${buildLogoutRequestXml({ identifierXml: '<saml:NameID>&e;</saml:NameID>' })}`;
    refused(request(redirectQuery(xml)), 'saml_doctype_forbidden');
  });

  test('not well-formed; a processing instruction; a duplicate ID; another root', () => {
    refused(request(redirectQuery(buildLogoutRequestXml().slice(0, -5))), 'saml_malformed_xml');
    refused(request(redirectQuery(buildLogoutRequestXml({ extraXml: '<?evil x?>' }))), 'saml_malformed_xml');
    refused(
      request(redirectQuery(buildLogoutRequestXml({ extraXml: `<samlp:Extensions><x ID="${LOGOUT_REQUEST_ID}"/></samlp:Extensions>` }))),
      'saml_duplicate_id',
    );
    refused(
      request(
        redirectQuery(
          buildLogoutRequestXml()
            .replace('samlp:LogoutRequest', 'samlp:AuthnRequest')
            .replace('samlp:LogoutRequest>', 'samlp:AuthnRequest>'),
        ),
      ),
      'saml_not_a_logout_message',
    );
  });

  test('a LogoutRequest in another namespace is not a SAML LogoutRequest', () => {
    const xml = buildLogoutRequestXml().replace('xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"', 'xmlns:samlp="urn:example:not-saml"');
    refused(request(redirectQuery(xml)), 'saml_not_a_logout_message');
  });

  test('a logout message or assertion hidden inside the request', () => {
    const hidden = buildLogoutRequestXml({ id: '_inner' });
    refused(
      request(redirectQuery(buildLogoutRequestXml({ extraXml: `<samlp:Extensions>${hidden}</samlp:Extensions>` }))),
      'saml_signature_wrapping',
    );
    refused(
      request(redirectQuery(buildLogoutRequestXml({ extraXml: `<samlp:Extensions><saml:Assertion ID="_a"/></samlp:Extensions>` }))),
      'saml_signature_wrapping',
    );
  });

  test('schema: ID, Version, IssueInstant, identifier, NotOnOrAfter', () => {
    refused(request(redirectQuery(buildLogoutRequestXml().replace(` ID="${LOGOUT_REQUEST_ID}"`, ''))), 'saml_malformed_logout_message');
    refused(request(redirectQuery(buildLogoutRequestXml({ id: 'has space' }))), 'saml_malformed_logout_message');
    refused(request(redirectQuery(buildLogoutRequestXml({ id: `_${'x'.repeat(300)}` }))), 'saml_malformed_logout_message');
    refused(request(redirectQuery(buildLogoutRequestXml({ version: '1.1' }))), 'saml_malformed_logout_message');
    refused(request(redirectQuery(buildLogoutRequestXml({ version: null }))), 'saml_malformed_logout_message');
    refused(request(redirectQuery(buildLogoutRequestXml({ issueInstant: null }))), 'saml_malformed_logout_message');
    refused(request(redirectQuery(buildLogoutRequestXml({ issueInstant: 'yesterday' }))), 'saml_malformed_logout_message');
    refused(request(redirectQuery(buildLogoutRequestXml({ notOnOrAfter: 'soon' }))), 'saml_malformed_logout_message');
    refused(request(redirectQuery(buildLogoutRequestXml({ identifierXml: '' }))), 'saml_malformed_logout_message');
    refused(request(redirectQuery(buildLogoutRequestXml({ identifierXml: NAME_ID_XML + NAME_ID_XML }))), 'saml_malformed_logout_message');
    refused(
      request(redirectQuery(buildLogoutRequestXml({ identifierXml: '<saml:NameID> </saml:NameID>' }))),
      'saml_malformed_logout_message',
    );
  });

  test('an EncryptedID or BaseID is refused as unsupported', () => {
    refused(
      request(redirectQuery(buildLogoutRequestXml({ identifierXml: '<saml:EncryptedID><x/></saml:EncryptedID>' }))),
      'saml_logout_unsupported_identifier',
    );
    refused(request(redirectQuery(buildLogoutRequestXml({ identifierXml: '<saml:BaseID/>' }))), 'saml_logout_unsupported_identifier');
  });
});

describe('LogoutRequest fields (profiles §4.4.4.1)', () => {
  test('wrong issuer, missing issuer, an Issuer with another Format, two Issuers', () => {
    refused(request(redirectQuery(buildLogoutRequestXml({ issuer: 'https://evil.example/idp' }))), 'saml_wrong_issuer');
    refused(request(redirectQuery(buildLogoutRequestXml({ issuer: null }))), 'saml_logout_missing_issuer');
    refused(
      request(redirectQuery(buildLogoutRequestXml({ issuerFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress' }))),
      'saml_logout_missing_issuer',
    );
    accepted(request(redirectQuery(buildLogoutRequestXml({ issuerFormat: null }))));
    refused(
      request(redirectQuery(buildLogoutRequestXml({ extraXml: `<saml:Issuer>${IDP}</saml:Issuer>` }))),
      'saml_malformed_logout_message',
    );
  });

  test('wrong destination; no destination on a signed message', () => {
    refused(
      request(redirectQuery(buildLogoutRequestXml({ destination: 'https://other-sp.example/slo' }))),
      'saml_logout_wrong_destination',
    );
    refused(request(redirectQuery(buildLogoutRequestXml({ destination: null }))), 'saml_logout_wrong_destination');
    // An unsigned message that names a destination is still checked.
    const unsignedElsewhere = redirectQuery(buildLogoutRequestXml({ destination: 'https://other-sp.example/slo' }), { keyPem: null });
    refused(request(unsignedElsewhere, { allowUnsigned: true }), 'saml_logout_wrong_destination');
  });

  test('expired: past NotOnOrAfter (exclusive), or issued longer ago than the accepted age', () => {
    const xml = buildLogoutRequestXml({ notOnOrAfter: at(60) });
    accepted(request(redirectQuery(xml), { now: new Date(NOW.getTime() + 59_000) }));
    refused(request(redirectQuery(xml), { now: new Date(NOW.getTime() + 60_000) }), 'saml_logout_expired');
    accepted(request(redirectQuery(xml), { now: new Date(NOW.getTime() + 60_000), clockSkewSeconds: 5 }));
    const old = buildLogoutRequestXml({ issueInstant: at(-400), notOnOrAfter: at(3600) });
    refused(request(redirectQuery(old)), 'saml_logout_expired');
    accepted(request(redirectQuery(old), { maxMessageAgeSeconds: 600 }));
  });

  test('a negative or non-finite skew counts as none', () => {
    for (const clockSkewSeconds of [-3600, Number.NaN, Number.POSITIVE_INFINITY]) {
      accepted(request(redirectQuery(buildLogoutRequestXml()), { clockSkewSeconds }));
      refused(request(redirectQuery(buildLogoutRequestXml({ issueInstant: at(30) })), { clockSkewSeconds }), 'saml_logout_not_yet_valid');
    }
  });

  test('issued in the future beyond the skew', () => {
    const xml = buildLogoutRequestXml({ issueInstant: at(30) });
    refused(request(redirectQuery(xml)), 'saml_logout_not_yet_valid');
    accepted(request(redirectQuery(xml), { clockSkewSeconds: 30 }));
  });

  test('an invalid current time is an internal error, never an acceptance', () => {
    refused(request(redirectQuery(buildLogoutRequestXml()), { now: new Date(Number.NaN) }), 'saml_internal_error');
  });
});

describe('Redirect-binding LogoutResponse', () => {
  test('accepted: ID, InResponseTo, status; a PartialLogout second-level code is reported', () => {
    const verified: VerifiedLogoutResponse = accepted(response(redirectQuery(buildLogoutResponseXml(), { relayState: 'back' })));
    assert.equal(verified.inResponseTo, SP_REQUEST_ID);
    assert.equal(verified.id, '_logout-resp-5c1d');
    assert.equal(verified.partialLogout, false);
    assert.equal(verified.relayState, 'back');
    assert.equal(verified.replayExpiresAt.toISOString(), at(298));
    const partial = buildLogoutResponseXml({
      statusCodes: ['urn:oasis:names:tc:SAML:2.0:status:Success', 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout'],
    });
    assert.equal(accepted(response(redirectQuery(partial))).partialLogout, true);
  });

  test('InResponseTo must name the pending request', () => {
    refused(response(redirectQuery(buildLogoutResponseXml({ inResponseTo: '_other' }))), 'saml_logout_in_response_to_mismatch');
    refused(response(redirectQuery(buildLogoutResponseXml({ inResponseTo: null }))), 'saml_logout_in_response_to_mismatch');
    refused(response(redirectQuery(buildLogoutResponseXml()), null), 'saml_logout_in_response_to_mismatch');
  });

  test('a status other than Success is a refusal that names the codes', () => {
    const xml = buildLogoutResponseXml({
      statusCodes: ['urn:oasis:names:tc:SAML:2.0:status:Responder', 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout'],
      statusMessage: 'backend down',
    });
    const error = refused(response(redirectQuery(xml)), 'saml_status_not_success');
    assert.match(error.message, /Responder \/ PartialLogout, "backend down"/);
    refused(
      response(redirectQuery(buildLogoutResponseXml().replace(/<samlp:Status>.*<\/samlp:Status>/, ''))),
      'saml_malformed_logout_message',
    );
    refused(response(redirectQuery(buildLogoutResponseXml({ statusCodes: [] }))), 'saml_malformed_logout_message');
    // Only the top-level code says whether the IdP logged the user out (core §3.7.3.2).
    const nestedSuccess = buildLogoutResponseXml({
      statusCodes: ['urn:oasis:names:tc:SAML:2.0:status:Requester', 'urn:oasis:names:tc:SAML:2.0:status:Success'],
    });
    refused(response(redirectQuery(nestedSuccess)), 'saml_status_not_success');
  });

  test('the checks shared with requests apply: signature, issuer, destination, age', () => {
    refused(response(redirectQuery(buildLogoutResponseXml(), { keyPem: testKeys.attackerKeyPem })), 'saml_query_signature_invalid');
    refused(response(redirectQuery(buildLogoutResponseXml(), { keyPem: null })), 'saml_signature_missing');
    refused(response(redirectQuery(buildLogoutResponseXml({ issuer: SP }))), 'saml_wrong_issuer');
    refused(response(redirectQuery(buildLogoutResponseXml({ destination: `${SLO}/x` }))), 'saml_logout_wrong_destination');
    refused(response(redirectQuery(buildLogoutResponseXml({ issueInstant: at(-301) }))), 'saml_logout_expired');
  });
});

describe('error catalogue (logout messages)', () => {
  test('every code returned above is documented', () => {
    for (const code of seenLogoutCodes) assert.ok(isSamlErrorCode(code), `undocumented code ${code}`);
  });
});
