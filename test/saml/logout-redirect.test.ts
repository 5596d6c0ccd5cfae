/**
 * Inbound HTTP-Redirect logout messages (SAML bindings §3.4.4.1): the query signature over the octets
 * as received, the SigAlg policy, the parameters and the bounded inflate. Every check has a case here
 * that is accepted without it, so removing the check fails a test (the XML and field checks are in
 * logout-messages.test.ts).
 */
import * as assert from 'node:assert/strict';
import { createPrivateKey, sign } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { isSamlErrorCode } from '../../src/domain/saml/errors.ts';
import type { VerifiedLogoutRequest } from '../../src/domain/saml/logout-verify.ts';
import {
  accepted,
  buildLogoutRequestXml,
  buildLogoutResponseXml,
  LOGOUT_REQUEST_ID,
  redirectQuery,
  redirectRequest as request,
  redirectResponse as response,
  refused,
  seenLogoutCodes,
  SLO,
} from '../support/logout-builder.ts';
import { ALGORITHMS, at, IDP, idpTrustedCert, SP, testKeys } from '../support/saml-builder.ts';

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

describe('error catalogue (logout, Redirect binding)', () => {
  test('every code returned above is documented', () => {
    for (const code of seenLogoutCodes) assert.ok(isSamlErrorCode(code), `undocumented code ${code}`);
  });
});
