/**
 * One case per check of verifySamlResponse, each with the error code it must produce, on responses
 * built and signed with the project's test keys (test/support/saml-builder.ts). Removing a check
 * makes its case fail: either the attack is accepted or a different code comes out.
 */
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isSamlErrorCode, SAML_ERROR_CATALOGUE, type SamlError, type SamlErrorCode } from '../../src/domain/saml/errors.ts';
import { verifySamlResponse, type VerifiedAssertion, type VerifySamlResponseInput } from '../../src/domain/saml/verify-response.ts';
import {
  ALGORITHMS,
  at,
  attackerFingerprint,
  buildAssertionXml,
  buildResponseXml,
  encryptAssertion,
  extractAssertion,
  IDP,
  idpTrustedCert,
  inputFor,
  REQUEST_ID,
  sign,
  testKeys,
  type ResponseOptions,
} from '../support/saml-builder.ts';

const returnedCodes = new Set<string>();

function refuse(input: VerifySamlResponseInput, code: SamlErrorCode): SamlError {
  const result = verifySamlResponse(input);
  if (result.ok) assert.fail(`expected ${code}, but the response was ACCEPTED for ${JSON.stringify(result.value.nameId)}`);
  returnedCodes.add(result.error.code);
  assert.equal(result.error.code, code, `got ${result.error.code}: ${result.error.message}`);
  assert.ok(result.error.message.length > 0);
  return result.error;
}

function accept(input: VerifySamlResponseInput): VerifiedAssertion {
  const result = verifySamlResponse(input);
  if (!result.ok) assert.fail(`expected acceptance, got ${result.error.code}: ${result.error.message}`);
  return result.value;
}

const assertionSigned = (o: ResponseOptions = {}) => sign(buildResponseXml(o), { target: 'assertion' });
const responseSigned = (o: ResponseOptions = {}) => sign(buildResponseXml(o), { target: 'response' });
const bothSigned = (o: ResponseOptions = {}) => sign(assertionSigned(o), { target: 'response' });
const signatureOf = (xml: string) => xml.slice(xml.indexOf('<ds:Signature'), xml.indexOf('</ds:Signature>') + '</ds:Signature>'.length);

describe('valid responses', () => {
  test('assertion signed: everything is read from the signed assertion', () => {
    const verified = accept(inputFor(assertionSigned()));
    assert.equal(verified.nameId, 'alice@example.com');
    assert.equal(verified.nameIdFormat, 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress');
    assert.equal(verified.issuer, IDP);
    assert.equal(verified.sessionIndex, '_session-42');
    assert.deepEqual(
      { ...verified.attributes },
      { 'urn:oid:0.9.2342.19200300.100.1.3': ['alice@example.com'], groups: ['staff', 'admins'] },
    );
    assert.deepEqual({ ...verified.attributeFriendlyNames }, { 'urn:oid:0.9.2342.19200300.100.1.3': 'mail' });
    assert.equal(verified.assertionId, '_assertion-7d3e');
    assert.equal(verified.responseId, '_response-91ab');
    assert.equal(verified.inResponseTo, REQUEST_ID);
    assert.equal(verified.notOnOrAfter.toISOString(), at(180), 'earliest of Conditions (+300 s) and SubjectConfirmationData (+180 s)');
    assert.equal(verified.authnInstant?.toISOString(), at(-10));
    assert.deepEqual(verified.signed, { response: false, assertion: true });
    assert.equal(verified.encrypted, false);
    assert.equal(verified.signingCertificateFingerprintSha256, idpTrustedCert.fingerprintSha256);
  });

  test('response signed (covers the assertion)', () => {
    assert.deepEqual(accept(inputFor(responseSigned())).signed, { response: true, assertion: false });
  });

  test('response and assertion both signed', () => {
    const verified = accept(inputFor(bothSigned(), { signaturePolicy: 'both' }));
    assert.deepEqual(verified.signed, { response: true, assertion: true });
  });

  test('pinned certificate list: any pinned key verifies (rotation)', () => {
    const attacker = { ...idpTrustedCert, fingerprintSha256: attackerFingerprint };
    assert.equal(accept(inputFor(assertionSigned(), { trustedCerts: [attacker, idpTrustedCert] })).nameId, 'alice@example.com');
  });

  for (const data of ['aes-128-cbc', 'aes-256-cbc', 'aes-128-gcm', 'aes-256-gcm'] as const) {
    test(`encrypted assertion, ${data} with RSA-OAEP (key in KeyInfo)`, () => {
      const verified = accept(inputFor(encryptAssertion(assertionSigned(), { data })));
      assert.equal(verified.nameId, 'alice@example.com');
      assert.equal(verified.encrypted, true);
      assert.deepEqual(verified.signed, { response: false, assertion: true });
    });
  }

  test('encrypted assertion, AES-256-GCM, xmlenc11 rsa-oaep SHA-256/MGF1-SHA-256, EncryptedKey beside EncryptedData (RetrievalMethod)', () => {
    const xml = encryptAssertion(assertionSigned(), {
      data: 'aes-256-gcm',
      transport: 'rsa-oaep-sha256',
      keyPlacement: 'retrieval-method',
    });
    assert.equal(accept(inputFor(xml)).nameId, 'alice@example.com');
  });

  test('encrypted assertion, EncryptedKey beside EncryptedData with no KeyInfo (SAML core §2.3.4)', () => {
    const xml = encryptAssertion(assertionSigned(), { data: 'aes-128-cbc', keyPlacement: 'sibling' });
    assert.equal(accept(inputFor(xml)).nameId, 'alice@example.com');
  });

  test('signed response around an encrypted, unsigned assertion: the response signature covers the ciphertext', () => {
    const xml = sign(encryptAssertion(buildResponseXml(), { data: 'aes-256-gcm' }), { target: 'response' });
    assert.deepEqual(accept(inputFor(xml)).signed, { response: true, assertion: false });
    refuse(inputFor(xml, { signaturePolicy: 'assertion' }), 'saml_signature_missing');
  });
});

describe('signature wrapping (XSW)', () => {
  const signed = assertionSigned();
  const original = extractAssertion(signed);
  const evil = buildAssertionXml({ assertionId: '_evil', nameIdXml: 'mallory@evil.test' });

  test('signed assertion hidden in samlp:Extensions, unsigned attacker assertion in its place', () => {
    const xml = signed.replace(original, evil).replace('<samlp:Status>', `<samlp:Extensions>${original}</samlp:Extensions><samlp:Status>`);
    refuse(inputFor(xml), 'saml_signature_wrapping');
  });

  test("signed assertion hidden in the attacker assertion's Advice, its signature copied onto the attacker assertion", () => {
    const attacker = evil
      .replace('</saml:Issuer>', `</saml:Issuer>${signatureOf(original)}`)
      .replace('<saml:AuthnStatement', `<saml:Advice>${original}</saml:Advice><saml:AuthnStatement`);
    refuse(inputFor(signed.replace(original, attacker)), 'saml_signature_wrapping');
  });

  test('signed assertion hidden in a ds:Object of the copied signature', () => {
    const signature = signatureOf(original);
    const wrapped = signature.replace('</ds:Signature>', `<ds:Object>${original}</ds:Object></ds:Signature>`);
    const attacker = evil.replace('</saml:Issuer>', `</saml:Issuer>${wrapped}`);
    refuse(inputFor(signed.replace(original, attacker)), 'saml_signature_wrapping');
  });

  test('signed assertion moved into an unknown wrapper element', () => {
    const xml = signed.replace(original, `<w:Wrapper xmlns:w="urn:attacker">${original}</w:Wrapper>${evil}`);
    refuse(inputFor(xml), 'saml_signature_wrapping');
  });

  test('a second assertion next to the signed one', () => {
    refuse(inputFor(signed.replace(original, `${original}${evil}`)), 'saml_multiple_assertions');
  });

  test('signed response with an unsigned assertion injected after signing', () => {
    const xml = responseSigned();
    refuse(inputFor(xml.replace('</samlp:Response>', `${evil}</samlp:Response>`)), 'saml_multiple_assertions');
  });

  test('duplicate ID elsewhere in the document', () => {
    const xml = signed.replace(
      '<samlp:Status>',
      `<samlp:Extensions><x:Decoy xmlns:x="urn:attacker" ID="_assertion-7d3e"/></samlp:Extensions><samlp:Status>`,
    );
    refuse(inputFor(xml), 'saml_duplicate_id');
  });

  test('decrypted assertion reusing an ID of the outer document', () => {
    const xml = encryptAssertion(sign(buildResponseXml({ assertionId: '_response-91ab' }), { target: 'assertion' }), {
      data: 'aes-128-gcm',
    });
    refuse(inputFor(xml), 'saml_duplicate_id');
  });

  test('a signature with two References', () => {
    const xml = signed.replace(
      '</ds:Reference>',
      `</ds:Reference>${signed.slice(signed.indexOf('<ds:Reference'), signed.indexOf('</ds:Reference>') + 15)}`,
    );
    refuse(inputFor(xml), 'saml_signature_wrapping');
  });

  test('two signatures on one element', () => {
    const xml = assertionSigned();
    const signature = signatureOf(xml);
    refuse(inputFor(xml.replace(signature, `${signature}${signature}`)), 'saml_signature_wrapping');
  });

  test('a signature whose Reference names another element', () => {
    const attacker = evil.replace('</saml:Issuer>', `</saml:Issuer>${signatureOf(original)}`);
    refuse(inputFor(signed.replace(original, attacker)), 'saml_signature_wrapping');
  });
});

describe('signature trust and integrity', () => {
  test('signed by an attacker key whose certificate is in KeyInfo: untrusted, and the message names both fingerprints', () => {
    const xml = sign(buildResponseXml(), { target: 'assertion', keyPem: testKeys.attackerKeyPem, certPem: testKeys.attackerCertPem });
    const error = refuse(inputFor(xml), 'saml_untrusted_certificate');
    assert.match(error.message, new RegExp(attackerFingerprint));
    assert.match(error.message, new RegExp(idpTrustedCert.fingerprintSha256));
  });

  test('signed by an attacker key with the trusted certificate copied into KeyInfo: KeyInfo is never used', () => {
    const xml = sign(buildResponseXml(), { target: 'assertion', keyPem: testKeys.attackerKeyPem, certPem: testKeys.idpCertPem });
    refuse(inputFor(xml), 'saml_signature_invalid');
  });

  test('no pinned certificate at all', () => {
    refuse(inputFor(assertionSigned(), { trustedCerts: [] }), 'saml_untrusted_certificate');
  });

  test('attribute value altered after signing', () => {
    const xml = assertionSigned().replace('<saml:AttributeValue>staff<', '<saml:AttributeValue>superuser<');
    refuse(inputFor(xml), 'saml_digest_mismatch');
  });

  test('Response signature broken while the Assertion signature is fine: a present signature must verify', () => {
    const xml = bothSigned().replace(
      'IssueInstant="2030-01-01T11:59:55.000Z" Destination',
      'IssueInstant="2030-01-01T11:59:56.000Z" Destination',
    );
    refuse(inputFor(xml), 'saml_digest_mismatch');
  });

  test('SignedInfo altered (digest value swapped): the signature value no longer verifies', () => {
    const xml = assertionSigned();
    const digest = /<ds:DigestValue>([^<]+)</.exec(xml)![1]!;
    refuse(inputFor(xml.replace(digest, Buffer.alloc(32, 7).toString('base64'))), 'saml_signature_invalid');
  });

  test('comment inside NameID does not truncate the identity (exclusive c14n drops comments, so the signature still verifies)', () => {
    const xml = assertionSigned({ nameIdXml: 'alice@example.com.evil.test' });
    const commented = xml.replace('>alice@example.com.evil.test<', '>alice@example.com<!-- injected -->.evil.test<');
    assert.equal(accept(inputFor(commented)).nameId, 'alice@example.com.evil.test');
    const cdata = xml.replace('>alice@example.com.evil.test<', '>alice@example.com<![CDATA[.evil.test]]><');
    assert.equal(accept(inputFor(cdata)).nameId, 'alice@example.com.evil.test');
  });

  test('processing instruction standing in for signed NameID text is refused (xml-crypto renders one as text)', () => {
    const xml = assertionSigned({ nameIdXml: 'alice@example.com.evil.test' }).replace(
      '>alice@example.com.evil.test<',
      '>alice@example.com<?x .evil.test?><',
    );
    refuse(inputFor(xml), 'saml_malformed_xml');
  });

  test('unsigned response and assertion', () => {
    refuse(inputFor(buildResponseXml()), 'saml_signature_missing');
  });

  test('signature policies: response / assertion / both', () => {
    refuse(inputFor(assertionSigned(), { signaturePolicy: 'response' }), 'saml_signature_missing');
    refuse(inputFor(responseSigned(), { signaturePolicy: 'assertion' }), 'saml_signature_missing');
    refuse(inputFor(assertionSigned(), { signaturePolicy: 'both' }), 'saml_signature_missing');
    accept(inputFor(responseSigned(), { signaturePolicy: 'response' }));
  });

  test('SHA-1 refused unless allowed', () => {
    const xml = sign(buildResponseXml(), { target: 'assertion', signatureAlgorithm: ALGORITHMS.rsaSha1, digestAlgorithm: ALGORITHMS.sha1 });
    refuse(inputFor(xml), 'saml_sha1_not_allowed');
    accept(inputFor(xml, { allowSha1: true }));
    const digestOnly = sign(buildResponseXml(), { target: 'assertion', digestAlgorithm: ALGORITHMS.sha1 });
    refuse(inputFor(digestOnly), 'saml_sha1_not_allowed');
    const signatureOnly = sign(buildResponseXml(), { target: 'assertion', signatureAlgorithm: ALGORITHMS.rsaSha1 });
    refuse(inputFor(signatureOnly), 'saml_sha1_not_allowed');
  });

  test('HMAC signature method (key confusion) refused', () => {
    const xml = assertionSigned().replace(ALGORITHMS.rsaSha256, 'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256');
    refuse(inputFor(xml), 'saml_unsupported_algorithm');
  });

  test('XPath transform refused even when the signature over it is valid', () => {
    const xml = sign(buildResponseXml(), { target: 'assertion', transforms: [ALGORITHMS.enveloped, ALGORITHMS.xpath, ALGORITHMS.excC14n] });
    const error = refuse(inputFor(xml), 'saml_unsupported_algorithm');
    assert.match(error.message, /xpath/);
  });
});

describe('document checks', () => {
  test('DOCTYPE', () => {
    refuse(inputFor(`<!DOCTYPE r [<!ENTITY x "y">]>${assertionSigned()}`), 'saml_doctype_forbidden');
  });

  test('oversize (default and configured limit)', () => {
    refuse(inputFor(`${assertionSigned()}<!--${'x'.repeat(300 * 1024)}-->`), 'saml_too_large');
    refuse(inputFor(assertionSigned(), { maxBytes: 1024 }), 'saml_too_large');
  });

  test('NUL character reference (not an XML Char)', () => {
    refuse(inputFor(responseSigned().replace('>alice@example.com<', '>alice@example.com&#0;<')), 'saml_malformed_xml');
  });

  test('not well-formed', () => {
    refuse(inputFor(assertionSigned().slice(0, -20)), 'saml_malformed_xml');
    refuse(inputFor(`${assertionSigned()}<second/>`), 'saml_malformed_xml');
  });

  test('root is not a samlp:Response (a bare signed Assertion)', () => {
    refuse(inputFor(extractAssertion(assertionSigned())), 'saml_not_a_response');
  });

  test('no assertion', () => {
    refuse(inputFor(sign(buildResponseXml({ noAssertion: true }), { target: 'response' })), 'saml_no_assertion');
  });

  test("status Responder is refused with the IdP's codes and message", () => {
    const xml = buildResponseXml({
      status: {
        code: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
        subCode: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed',
        message: 'User is not assigned to this application',
      },
      noAssertion: true,
    });
    const error = refuse(inputFor(xml), 'saml_status_not_success');
    assert.match(error.message, /Responder \/ AuthnFailed/);
    assert.match(error.message, /User is not assigned to this application/);
    assert.deepEqual(error.detail?.['statusCodes'], [
      'urn:oasis:names:tc:SAML:2.0:status:Responder',
      'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed',
    ]);
  });

  test('garbage never throws', () => {
    for (const xml of [
      '',
      '\u0000',
      'not xml',
      '<a',
      '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>',
      '<x:Response xmlns:x="urn:oasis:names:tc:SAML:2.0:protocol"><x:Status><x:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></x:Status><Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/></Assertion></x:Response>',
      `<a>${'<b>'.repeat(5000)}${'</b>'.repeat(5000)}</a>`,
    ]) {
      const result = verifySamlResponse(inputFor(xml));
      assert.equal(result.ok, false);
      if (!result.ok) returnedCodes.add(result.error.code);
    }
  });
});

describe('assertion checks', () => {
  test('issuer: wrong on the assertion, wrong on the response, missing on the assertion', () => {
    refuse(inputFor(assertionSigned({ assertionIssuer: 'https://evil.test' })), 'saml_wrong_issuer');
    refuse(inputFor(bothSigned({ responseIssuer: 'https://evil.test' })), 'saml_wrong_issuer');
    refuse(inputFor(assertionSigned({ assertionIssuer: null })), 'saml_missing_issuer');
    accept(inputFor(assertionSigned({ responseIssuer: null })));
  });

  test('audience: wrong, missing (unless the connection tolerates it)', () => {
    refuse(inputFor(assertionSigned({ audience: 'https://other-sp.test' })), 'saml_wrong_audience');
    refuse(inputFor(assertionSigned({ audience: null })), 'saml_missing_audience');
    accept(inputFor(assertionSigned({ audience: null }), { requireAudienceRestriction: false }));
  });

  test('destination: wrong is refused, absent is fine', () => {
    refuse(inputFor(assertionSigned({ destination: 'https://other-sp.test/acs' })), 'saml_wrong_destination');
    accept(inputFor(assertionSigned({ destination: null })));
  });

  test('recipient: wrong or missing is refused unless explicitly not checked', () => {
    refuse(inputFor(assertionSigned({ recipient: 'https://other-sp.test/acs' })), 'saml_wrong_recipient');
    refuse(inputFor(assertionSigned({ recipient: null })), 'saml_wrong_recipient');
    accept(inputFor(assertionSigned({ recipient: 'recipient' }), { checkRecipient: false }));
  });

  test('expired: Conditions, SubjectConfirmationData, NotOnOrAfter is exclusive, skew tolerates', () => {
    refuse(inputFor(assertionSigned({ notOnOrAfter: at(-1) })), 'saml_expired');
    refuse(inputFor(assertionSigned({ scdNotOnOrAfter: at(-1) })), 'saml_expired');
    refuse(inputFor(assertionSigned({ scdNotOnOrAfter: at(0) })), 'saml_expired');
    accept(inputFor(assertionSigned({ notOnOrAfter: at(-30) }), { clockSkewSeconds: 60 }));
  });

  test('not yet valid, skew tolerates', () => {
    refuse(inputFor(assertionSigned({ notBefore: at(30) })), 'saml_not_yet_valid');
    accept(inputFor(assertionSigned({ notBefore: at(30) }), { clockSkewSeconds: 60 }));
  });

  test('bearer SubjectConfirmationData without NotOnOrAfter', () => {
    refuse(inputFor(assertionSigned({ scdNotOnOrAfter: null })), 'saml_missing_subject_confirmation');
  });

  test('unsolicited response only when IdP-initiated login is allowed', () => {
    const unsolicited = assertionSigned({ inResponseTo: null });
    refuse(inputFor(unsolicited, { expectedInResponseTo: null }), 'saml_unsolicited_not_allowed');
    assert.equal(accept(inputFor(unsolicited, { expectedInResponseTo: null, allowIdpInitiated: true })).inResponseTo, null);
    // A captured IdP-initiated assertion wrapped in an unsigned Response claiming InResponseTo stays unsolicited.
    refuse(inputFor(assertionSigned({ scdInResponseTo: null })), 'saml_unsolicited_not_allowed');
    assert.equal(accept(inputFor(responseSigned({ scdInResponseTo: null }))).inResponseTo, REQUEST_ID);
  });

  test('InResponseTo mismatch: response level, confirmation level, and no login pending', () => {
    refuse(inputFor(assertionSigned(), { expectedInResponseTo: '_another-request' }), 'saml_in_response_to_mismatch');
    refuse(inputFor(assertionSigned({ scdInResponseTo: '_forged' })), 'saml_in_response_to_mismatch');
    refuse(inputFor(assertionSigned({ inResponseTo: '_forged', scdInResponseTo: REQUEST_ID })), 'saml_in_response_to_mismatch');
    refuse(inputFor(assertionSigned(), { expectedInResponseTo: null, allowIdpInitiated: true }), 'saml_in_response_to_mismatch');
  });

  test('missing NameID', () => {
    const xml = sign(buildResponseXml({}, buildAssertionXml().replace(/<saml:NameID[^>]*>[^<]*<\/saml:NameID>/, '')), {
      target: 'assertion',
    });
    refuse(inputFor(xml), 'saml_missing_name_id');
  });
});

describe('decryption', () => {
  const signed = assertionSigned();

  test('encrypted for another SP key', () => {
    refuse(inputFor(encryptAssertion(signed, { data: 'aes-256-cbc', recipientKey: testKeys.attackerSpKey })), 'saml_decryption_failed');
  });

  test('no SP key configured', () => {
    refuse(inputFor(encryptAssertion(signed, { data: 'aes-256-cbc' }), { decryptionKeys: [] }), 'saml_decryption_failed');
  });

  test('GCM ciphertext altered', () => {
    const xml = encryptAssertion(signed, { data: 'aes-256-gcm' });
    const value = /<xenc:CipherValue>([^<]+)<\/xenc:CipherValue><\/xenc:CipherData><\/xenc:EncryptedData>/.exec(xml)![1]!;
    const bytes = Buffer.from(value, 'base64');
    bytes[20] = bytes[20]! ^ 1;
    refuse(inputFor(xml.replace(value, bytes.toString('base64'))), 'saml_decryption_failed');
  });

  test('RSA PKCS#1 v1.5 key transport refused', () => {
    refuse(inputFor(encryptAssertion(signed, { data: 'aes-256-gcm', transport: 'rsa-1_5' })), 'saml_unsupported_algorithm');
  });

  test('decrypted assertion is verified like a plain one: unsigned inside an unsigned response', () => {
    refuse(inputFor(encryptAssertion(buildResponseXml(), { data: 'aes-256-gcm' })), 'saml_signature_missing');
  });

  test('decrypted assertion is verified like a plain one: altered before encryption', () => {
    const tampered = signed.replace('<saml:AttributeValue>staff<', '<saml:AttributeValue>superuser<');
    refuse(inputFor(encryptAssertion(tampered, { data: 'aes-128-cbc' })), 'saml_digest_mismatch');
  });
});

describe('error catalogue', () => {
  test('every code returned above is documented', () => {
    for (const code of returnedCodes) assert.ok(isSamlErrorCode(code), `undocumented code ${code}`);
  });

  test('every saml_* code literal in src/domain/saml is in the catalogue, and every catalogue entry has a description', () => {
    const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'domain', 'saml');
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
      for (const match of readFileSync(join(dir, file), 'utf8').matchAll(/'(saml_[a-z0-9_]+)'/g)) {
        assert.ok(isSamlErrorCode(match[1]!), `${file} uses undocumented code ${match[1]}`);
      }
    }
    for (const [code, entry] of Object.entries(SAML_ERROR_CATALOGUE)) {
      assert.match(code, /^saml_[a-z0-9_]+$/);
      assert.ok(entry.description.length > 10, code);
    }
  });
});
