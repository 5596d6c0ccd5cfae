/**
 * Inbound HTTP-POST logout messages (SAML bindings §3.5): the enveloped XML signature on the
 * message element, verified with signature.ts and its structural defences against wrapping.
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSamlErrorCode } from '../../src/domain/saml/errors.ts';
import { verifyLogoutRequest, verifyLogoutResponse, type VerifyLogoutInput } from '../../src/domain/saml/logout-verify.ts';
import {
  accepted,
  buildLogoutRequestXml,
  buildLogoutResponseXml,
  LOGOUT_REQUEST_ID,
  logoutInputFor,
  postField,
  refused,
  seenLogoutCodes,
  signPost,
  SP_REQUEST_ID,
} from '../support/logout-builder.ts';
import { ALGORITHMS, attackerFingerprint, idpTrustedCert, testKeys } from '../support/saml-builder.ts';

const post = (xml: string, relayState?: string) => ({
  binding: 'post' as const,
  message: postField(xml),
  ...(relayState === undefined ? {} : { relayState }),
});
const request = (xml: string, overrides: Partial<VerifyLogoutInput> = {}) => verifyLogoutRequest(logoutInputFor(post(xml), overrides));
const response = (xml: string, overrides: Partial<VerifyLogoutInput> = {}) =>
  verifyLogoutResponse({ ...logoutInputFor(post(xml), overrides), expectedInResponseTo: SP_REQUEST_ID });

describe('POST-binding LogoutRequest', () => {
  test('a signed request is accepted, with the form RelayState and the verifying certificate', () => {
    const verified = accepted(verifyLogoutRequest(logoutInputFor(post(signPost(buildLogoutRequestXml()), 'relay-1'))));
    assert.equal(verified.id, LOGOUT_REQUEST_ID);
    assert.equal(verified.binding, 'post');
    assert.equal(verified.relayState, 'relay-1');
    assert.equal(verified.signed, true);
    assert.equal(verified.signingCertificateFingerprintSha256, idpTrustedCert.fingerprintSha256);
    assert.equal(verified.nameId.value, 'alice@example.com');
    assert.deepEqual(verified.sessionIndexes, ['_session-42']);
  });

  test('the form RelayState must be text of at most 80 bytes (bindings §3.4.3)', () => {
    const signed = signPost(buildLogoutRequestXml());
    accepted(verifyLogoutRequest(logoutInputFor(post(signed, 'r'.repeat(80)))));
    refused(verifyLogoutRequest(logoutInputFor(post(signed, 'r'.repeat(81)))), 'saml_binding_malformed');
    refused(verifyLogoutRequest(logoutInputFor(post(signed, 'lone \ud800 surrogate'))), 'saml_binding_malformed');
  });

  test('unsigned: refused unless the connection allows it', () => {
    const xml = buildLogoutRequestXml({ destination: null });
    refused(request(xml), 'saml_signature_missing');
    assert.equal(accepted(request(xml, { allowUnsigned: true })).signed, false);
  });

  test('signed by a key that is not pinned: named by its certificate', () => {
    const xml = signPost(buildLogoutRequestXml(), { keyPem: testKeys.attackerKeyPem, certPem: testKeys.attackerCertPem });
    const error = refused(request(xml), 'saml_untrusted_certificate');
    assert.equal(error.detail?.keyInfoFingerprintSha256, attackerFingerprint);
  });

  test('altered after signing', () => {
    const xml = signPost(buildLogoutRequestXml()).replace('_session-42', '_session-43');
    refused(request(xml), 'saml_digest_mismatch');
  });

  test('SHA-1 refused unless allowed', () => {
    const xml = signPost(buildLogoutRequestXml(), { signatureAlgorithm: ALGORITHMS.rsaSha1 });
    refused(request(xml), 'saml_sha1_not_allowed');
    accepted(request(xml, { allowSha1: true }));
  });

  test('wrapping: the signature covers a genuine request hidden in Extensions, the forged root is read', () => {
    const genuine = signPost(buildLogoutRequestXml({ id: '_genuine' }));
    const signature = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(genuine)?.[0] ?? assert.fail('no signature');
    const forged = buildLogoutRequestXml({
      id: '_forged',
      identifierXml: '<saml:NameID>victim@example.com</saml:NameID>',
      extraXml: `${signature}<samlp:Extensions>${genuine}</samlp:Extensions>`,
    });
    refused(request(forged), 'saml_signature_wrapping');
    // The same with the genuine request moved out of the way but its signature (Reference "#_genuine") kept.
    const moved = buildLogoutRequestXml({ id: '_forged', extraXml: signature });
    refused(request(moved), 'saml_signature_wrapping');
  });

  test('wrapping: a forged root that takes the genuine ID, the genuine copy hidden below', () => {
    const genuine = signPost(buildLogoutRequestXml());
    const signature = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(genuine)?.[0] ?? assert.fail('no signature');
    const forged = buildLogoutRequestXml({
      identifierXml: '<saml:NameID>victim@example.com</saml:NameID>',
      extraXml: `${signature}<samlp:Extensions>${genuine.replace('ID="_logout-req-3b9f"', 'ID="_copy"')}</samlp:Extensions>`,
    });
    refused(request(forged), 'saml_signature_wrapping');
    const sameIds = buildLogoutRequestXml({ extraXml: `${signature}<samlp:Extensions>${genuine}</samlp:Extensions>` });
    refused(request(sameIds), 'saml_duplicate_id');
    // Without the hidden copy, the forged content no longer matches the signed digest.
    refused(
      request(buildLogoutRequestXml({ identifierXml: '<saml:NameID>victim@example.com</saml:NameID>', extraXml: signature })),
      'saml_digest_mismatch',
    );
  });

  test('two signatures on the root; a signature with two References', () => {
    const signed = signPost(buildLogoutRequestXml());
    const signature = /<ds:Signature[\s\S]*<\/ds:Signature>/.exec(signed)?.[0] ?? assert.fail('no signature');
    refused(request(signed.replace(signature, signature + signature)), 'saml_signature_wrapping');
    const twoReferences = signed.replace(/(<ds:Reference[\s\S]*?<\/ds:Reference>)/, '$1$1');
    refused(request(twoReferences), 'saml_signature_wrapping');
  });

  test('DOCTYPE, malformed base64, non-UTF-8 bytes, oversize, a response where a request belongs', () => {
    refused(request(`<!DOCTYPE x>${signPost(buildLogoutRequestXml())}`), 'saml_doctype_forbidden');
    refused(verifyLogoutRequest(logoutInputFor({ binding: 'post', message: 'not base64!' })), 'saml_binding_malformed');
    refused(
      verifyLogoutRequest(logoutInputFor({ binding: 'post', message: Buffer.from([0xff, 0xfe, 0x00]).toString('base64') })),
      'saml_binding_malformed',
    );
    refused(request(signPost(buildLogoutRequestXml()), { maxBytes: 1024 }), 'saml_logout_too_large');
    // Refused on its length alone, before any decoding (this one is not even base64).
    refused(verifyLogoutRequest(logoutInputFor({ binding: 'post', message: `${'A'.repeat(100 * 1024)}*` })), 'saml_logout_too_large');
    // Node's own base64 decoder would skip stray characters; the binding's base64 has none.
    const field = postField(signPost(buildLogoutRequestXml()));
    refused(
      verifyLogoutRequest(logoutInputFor({ binding: 'post', message: `${field.slice(0, 8)}*!${field.slice(8)}` })),
      'saml_binding_malformed',
    );
    // Line breaks are fine: some IdPs wrap their base64.
    accepted(verifyLogoutRequest(logoutInputFor({ binding: 'post', message: field.replace(/(.{76})/g, '$1\r\n') })));
    refused(request(signPost(buildLogoutResponseXml())), 'saml_not_a_logout_message');
  });

  test('the message checks apply to POST as well: issuer, destination', () => {
    refused(request(signPost(buildLogoutRequestXml({ issuer: 'https://evil.example/idp' }))), 'saml_wrong_issuer');
    refused(request(signPost(buildLogoutRequestXml({ destination: null }))), 'saml_logout_wrong_destination');
  });
});

describe('POST-binding LogoutResponse', () => {
  test('signed Success accepted; unsigned refused; InResponseTo bound', () => {
    const verified = accepted(response(signPost(buildLogoutResponseXml())));
    assert.equal(verified.inResponseTo, SP_REQUEST_ID);
    assert.equal(verified.binding, 'post');
    refused(response(buildLogoutResponseXml()), 'saml_signature_missing');
    refused(response(signPost(buildLogoutResponseXml({ inResponseTo: '_other' }))), 'saml_logout_in_response_to_mismatch');
    refused(response(signPost(buildLogoutRequestXml())), 'saml_not_a_logout_message');
  });
});

describe('error catalogue (logout, POST binding)', () => {
  test('every code returned above is documented', () => {
    for (const code of seenLogoutCodes) assert.ok(isSamlErrorCode(code), `undocumented code ${code}`);
  });
});
