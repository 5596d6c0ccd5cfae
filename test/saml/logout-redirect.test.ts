/**
 * Inbound HTTP-Redirect logout messages (SAML bindings §3.4.4.1, core §3.7, profiles §4.4): every
 * check of verifyLogoutRequest / verifyLogoutResponse has a case here that is accepted without the
 * check, so removing the check fails the test.
 */
import * as assert from 'node:assert/strict';
import { createPrivateKey, sign } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { isSamlErrorCode, type SamlError, type SamlErrorCode } from '../../src/domain/saml/errors.ts';
import {
  verifyLogoutRequest,
  verifyLogoutResponse,
  type VerifiedLogoutRequest,
  type VerifiedLogoutResponse,
  type VerifyLogoutInput,
} from '../../src/domain/saml/logout-verify.ts';
import type { Result } from '../../src/domain/result.ts';
import {
  buildLogoutRequestXml,
  buildLogoutResponseXml,
  LOGOUT_REQUEST_ID,
  logoutInputFor,
  NAME_ID_XML,
  redirectQuery,
  SLO,
  SP_REQUEST_ID,
} from '../support/logout-builder.ts';
import { ALGORITHMS, at, IDP, idpTrustedCert, NOW, SP, testKeys } from '../support/saml-builder.ts';

const returnedCodes = new Set<string>();

export function refused<T>(result: Result<T, SamlError>, code: SamlErrorCode): SamlError {
  if (result.ok) assert.fail(`expected ${code}, but the message was ACCEPTED`);
  returnedCodes.add(result.error.code);
  assert.equal(result.error.code, code, `got ${result.error.code}: ${result.error.message}`);
  assert.ok(result.error.message.length > 0);
  return result.error;
}

export function accepted<T>(result: Result<T, SamlError>): T {
  if (!result.ok) assert.fail(`expected acceptance, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

const redirect = (rawQuery: string) => ({ binding: 'redirect' as const, rawQuery });
const request = (rawQuery: string, overrides: Partial<VerifyLogoutInput> = {}) =>
  verifyLogoutRequest(logoutInputFor(redirect(rawQuery), overrides));
const response = (rawQuery: string, expectedInResponseTo: string | null = SP_REQUEST_ID, overrides: Partial<VerifyLogoutInput> = {}) =>
  verifyLogoutResponse({ ...logoutInputFor(redirect(rawQuery), overrides), expectedInResponseTo });

const SHA512 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512';

/** Replaces one raw parameter value of a query string. */
function withParameter(query: string, name: string, value: string): string {
  return query
    .split('&')
    .map((pair) => (pair.startsWith(`${name}=`) ? `${name}=${value}` : pair))
    .join('&');
}

function rawValue(query: string, name: string): string {
  const pair = query.split('&').find((p) => p.startsWith(`${name}=`));
  if (pair === undefined) throw new Error(`no ${name} in ${query}`);
  return pair.slice(name.length + 1);
}

describe('Redirect-binding LogoutRequest: accepted', () => {
  test('a signed request gives its ID, NameID verbatim, SessionIndex, RelayState and replay expiry', () => {
    const verified: VerifiedLogoutRequest = accepted(request(redirectQuery(buildLogoutRequestXml(), { relayState: '_relay:é/+=' })));
    assert.equal(verified.id, LOGOUT_REQUEST_ID);
    assert.equal(verified.issuer, IDP);
    assert.deepEqual(verified.nameId, {
      value: 'alice@example.com',
      format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      nameQualifier: null,
      spNameQualifier: SP,
      spProvidedId: null,
    });
    assert.deepEqual(verified.sessionIndexes, ['_session-42']);
    assert.equal(verified.relayState, '_relay:é/+=');
    assert.equal(verified.binding, 'redirect');
    assert.equal(verified.signed, true);
    assert.equal(verified.signingCertificateFingerprintSha256, idpTrustedCert.fingerprintSha256);
    assert.equal(verified.destination, SLO);
    assert.equal(verified.notOnOrAfter?.toISOString(), at(298));
    // The replay entry lives as long as the request could be accepted: here its NotOnOrAfter.
    assert.equal(verified.replayExpiresAt.toISOString(), at(298));
  });

  test('the replay expiry is bounded by the message age when NotOnOrAfter is absent or later, plus the skew', () => {
    const noExpiry = accepted(request(redirectQuery(buildLogoutRequestXml({ notOnOrAfter: null })), { clockSkewSeconds: 30 }));
    assert.equal(noExpiry.notOnOrAfter, null);
    assert.equal(noExpiry.replayExpiresAt.toISOString(), at(-2 + 300 + 30));
    const late = accepted(request(redirectQuery(buildLogoutRequestXml({ notOnOrAfter: at(3600) })), { maxMessageAgeSeconds: 60 }));
    assert.equal(late.replayExpiresAt.toISOString(), at(58));
  });

  test('every qualifier, several SessionIndexes and a Reason are read verbatim; a comment does not cut the NameID', () => {
    const identifierXml =
      `<saml:NameID NameQualifier="https://idp.example.test/&#9;q" SPNameQualifier="${SP}" SPProvidedID="sp-1" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">` +
      `user<!-- injected -->@example.com</saml:NameID>`;
    const xml = buildLogoutRequestXml({ identifierXml, sessionIndexes: ['_a', '_b'], reason: 'urn:oasis:names:tc:SAML:2.0:logout:admin' });
    const verified = accepted(request(redirectQuery(xml)));
    assert.deepEqual(verified.nameId, {
      value: 'user@example.com',
      format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      nameQualifier: 'https://idp.example.test/\tq',
      spNameQualifier: SP,
      spProvidedId: 'sp-1',
    });
    assert.deepEqual(verified.sessionIndexes, ['_a', '_b']);
    assert.equal(verified.reason, 'urn:oasis:names:tc:SAML:2.0:logout:admin');
  });

  test('RSA-SHA512 is accepted; the query parameters may come in any order, with others beside them', () => {
    accepted(request(redirectQuery(buildLogoutRequestXml(), { sigAlg: SHA512, hash: 'sha512' })));
    const pairs = redirectQuery(buildLogoutRequestXml(), { relayState: 'r' }).split('&');
    accepted(request(['utm=1', ...pairs.reverse(), 'other=%ZZ'].join('&')));
  });

  test('an unsigned request is accepted only where the connection allows it, and says it was unsigned', () => {
    const query = redirectQuery(buildLogoutRequestXml({ destination: null }), { keyPem: null });
    refused(request(query), 'saml_signature_missing');
    const verified = accepted(request(query, { allowUnsigned: true }));
    assert.equal(verified.signed, false);
    assert.equal(verified.signingCertificateFingerprintSha256, null);
  });
});

describe('Redirect-binding signature (bindings §3.4.4.1)', () => {
  const xml = buildLogoutRequestXml();

  test('signed with a key that is not pinned', () => {
    refused(request(redirectQuery(xml, { keyPem: testKeys.attackerKeyPem })), 'saml_query_signature_invalid');
  });

  test('no pinned certificate at all', () => {
    refused(request(redirectQuery(xml), { trustedCerts: [] }), 'saml_query_signature_invalid');
  });

  test('the signature is checked over the octets as received, not over a re-encoding', () => {
    // Same decoded values, other octets: "a+b" and "a%20b" both mean "a b" in a query, and escapes may
    // be upper or lower case. A verifier that re-encodes would accept these; the signature says no.
    const query = redirectQuery(xml, { relayState: 'a b' });
    assert.match(query, /RelayState=a%20b/);
    refused(request(withParameter(query, 'RelayState', 'a+b')), 'saml_query_signature_invalid');
    const lower = withParameter(
      query,
      'SAMLRequest',
      rawValue(query, 'SAMLRequest').replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
    );
    assert.notEqual(lower, query);
    refused(request(lower), 'saml_query_signature_invalid');
  });

  test('a sender that signed lower-case escapes is verified over exactly those octets (a re-encoding would not match)', () => {
    const lowerEscapes = (text: string) => encodeURIComponent(text).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase());
    const signed = `SAMLRequest=${lowerEscapes(deflateRawSync(Buffer.from(xml)).toString('base64'))}&SigAlg=${lowerEscapes(ALGORITHMS.rsaSha256)}`;
    assert.match(signed, /%2f/);
    accepted(request(`${signed}&Signature=${encodeURIComponent(signWithIdpKey(signed, 'sha256'))}`));
  });

  test('RelayState is covered: changing it breaks the signature', () => {
    const query = redirectQuery(xml, { relayState: 'state-1' });
    refused(request(withParameter(query, 'RelayState', 'state-2')), 'saml_query_signature_invalid');
    // Dropping it is a change too.
    refused(request(query.replace(/&RelayState=[^&]*/, '')), 'saml_query_signature_invalid');
  });

  test('a SigAlg other than the one signed with does not verify; an unknown SigAlg is refused as such', () => {
    const query = redirectQuery(xml);
    // Signed with SHA-256, announced as SHA-512 (re-signed octets would differ, so keep the signature).
    const parts = query.split('&');
    const forged = parts.map((p) => (p.startsWith('SigAlg=') ? `SigAlg=${encodeURIComponent(SHA512)}` : p)).join('&');
    refused(request(forged), 'saml_query_signature_invalid');
    refused(request(redirectQuery(xml, { sigAlg: 'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256' })), 'saml_unsupported_algorithm');
    refused(
      request(redirectQuery(xml, { sigAlg: 'http://www.w3.org/2001/04/xmldsig-more#rsa-md5', hash: 'md5' })),
      'saml_unsupported_algorithm',
    );
  });

  test('RSA-SHA1 is refused unless the connection allows it', () => {
    const query = redirectQuery(xml, { sigAlg: ALGORITHMS.rsaSha1, hash: 'sha1' });
    refused(request(query), 'saml_sha1_not_allowed');
    accepted(request(query, { allowSha1: true }));
  });

  test('Signature without SigAlg, SigAlg without Signature, a Signature that is not base64', () => {
    const query = redirectQuery(xml);
    refused(request(query.replace(/&SigAlg=[^&]*/, '')), 'saml_binding_malformed');
    refused(request(query.replace(/&Signature=[^&]*/, '')), 'saml_binding_malformed');
    refused(request(withParameter(query, 'Signature', 'not*base64')), 'saml_binding_malformed');
  });
});

function signWithIdpKey(octets: string, hash: string): string {
  return sign(hash, Buffer.from(octets), createPrivateKey(testKeys.idpKeyPem)).toString('base64');
}

describe('Redirect-binding parameters', () => {
  const xml = buildLogoutRequestXml();

  test('a parameter given twice is refused, even where the copies agree', () => {
    const query = redirectQuery(xml, { relayState: 'r' });
    for (const name of ['SAMLRequest', 'RelayState', 'SigAlg', 'Signature']) {
      refused(request(`${query}&${name}=${rawValue(query, name)}`), 'saml_binding_malformed');
    }
    // A name spelled with escapes is the same parameter.
    refused(request(`${query}&Relay%53tate=r`), 'saml_binding_malformed');
  });

  test('exactly one of SAMLRequest and SAMLResponse', () => {
    const query = redirectQuery(xml);
    refused(request(`${query}&SAMLResponse=${rawValue(query, 'SAMLRequest')}`), 'saml_binding_malformed');
    refused(request('RelayState=x'), 'saml_binding_malformed');
    refused(request(''), 'saml_binding_malformed');
  });

  test('a response where a request is expected, and the reverse', () => {
    refused(request(redirectQuery(buildLogoutResponseXml())), 'saml_not_a_logout_message');
    refused(response(redirectQuery(xml)), 'saml_not_a_logout_message');
    // A request document under the response parameter (and the reverse): the parameter decides.
    refused(request(redirectQuery(xml, { parameter: 'SAMLResponse' })), 'saml_not_a_logout_message');
    // The right parameter, the wrong document.
    refused(request(redirectQuery(buildLogoutResponseXml(), { parameter: 'SAMLRequest' })), 'saml_not_a_logout_message');
  });

  test('bad URL-encoding: a broken escape, bytes that are not UTF-8, a lone surrogate', () => {
    const query = redirectQuery(xml, { keyPem: null });
    for (const bad of ['%E0%A4', '%FF', '%ED%A0%80', '%']) {
      refused(request(`${query}&RelayState=${bad}`, { allowUnsigned: true }), 'saml_binding_malformed');
    }
  });

  test('a RelayState over the 80 bytes of bindings §3.4.3 is refused, so an accepted one can always be sent back', () => {
    accepted(request(redirectQuery(xml, { relayState: 'é'.repeat(40) })));
    refused(
      request(`${redirectQuery(xml, { keyPem: null })}&RelayState=${'x'.repeat(81)}`, { allowUnsigned: true }),
      'saml_binding_malformed',
    );
    refused(
      request(`${redirectQuery(xml, { keyPem: null })}&RelayState=${encodeURIComponent('é'.repeat(41))}`, { allowUnsigned: true }),
      'saml_binding_malformed',
    );
  });

  test('an unknown SAMLEncoding is refused, the DEFLATE one accepted', () => {
    const query = redirectQuery(xml);
    refused(request(`${query}&SAMLEncoding=urn%3Aexample%3Agzip`), 'saml_binding_malformed');
    accepted(request(`${query}&SAMLEncoding=${encodeURIComponent('urn:oasis:names:tc:SAML:2.0:bindings:URL-Encoding:DEFLATE')}`));
  });

  test('a message that is not base64, or not DEFLATE data, or not UTF-8', () => {
    const unsigned = { allowUnsigned: true };
    refused(request('SAMLRequest=%%%%', unsigned), 'saml_binding_malformed');
    // Node's own base64 decoder would skip the stray characters; the binding's base64 has none.
    const valid = deflateRawSync(Buffer.from(xml)).toString('base64');
    accepted(request(`SAMLRequest=${encodeURIComponent(valid)}`, unsigned));
    refused(request(`SAMLRequest=${encodeURIComponent(`${valid.slice(0, 8)}*!${valid.slice(8)}`)}`, unsigned), 'saml_binding_malformed');
    refused(
      request(`SAMLRequest=${encodeURIComponent(Buffer.from('plain text, not deflate').toString('base64'))}`, unsigned),
      'saml_binding_malformed',
    );
    const latin1 = deflateRawSync(Buffer.from(xml.replace('alice@example.com', 'al\xefce@example.com'), 'latin1'));
    refused(request(`SAMLRequest=${encodeURIComponent(latin1.toString('base64'))}`, unsigned), 'saml_binding_malformed');
  });

  test('a deflate bomb stops at the size bound; a large encoded parameter is refused before decoding', () => {
    const bomb = deflateRawSync(
      Buffer.from(xml.replace('</samlp:LogoutRequest>', `${' '.repeat(50 * 1024 * 1024)}</samlp:LogoutRequest>`)),
    );
    assert.ok(bomb.length < 100 * 1024);
    const started = process.hrtime.bigint();
    const error = refused(
      request(`SAMLRequest=${encodeURIComponent(bomb.toString('base64'))}`, { allowUnsigned: true }),
      'saml_logout_too_large',
    );
    assert.match(error.message, /inflates to more than 65536 bytes/);
    assert.ok(process.hrtime.bigint() - started < 2_000_000_000n, 'the inflate stopped early');
    // Signed bombs too: the signature is checked first, then the size.
    refused(
      request(redirectQuery(xml.replace('</samlp:LogoutRequest>', `${' '.repeat(70 * 1024)}</samlp:LogoutRequest>`))),
      'saml_logout_too_large',
    );
    // Refused on its length alone, before any decoding (this one is not even base64).
    refused(request(`SAMLRequest=${'A'.repeat(200 * 1024)}*`, { allowUnsigned: true }), 'saml_logout_too_large');
    // The bound is the caller's to set.
    refused(request(redirectQuery(xml), { maxBytes: 512 }), 'saml_logout_too_large');
  });
});

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

describe('error catalogue (logout, Redirect binding)', () => {
  test('every code returned above is documented', () => {
    assert.ok(returnedCodes.size >= 15);
    for (const code of returnedCodes) assert.ok(isSamlErrorCode(code), `undocumented code ${code}`);
  });
});
