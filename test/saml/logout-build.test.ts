/**
 * Outbound logout messages: the LogoutRequest and LogoutResponse builders, the Redirect-binding
 * encoder generalized to SAMLResponse, and a round trip through Lanyard's own verifiers.
 */
import * as assert from 'node:assert/strict';
import { verify } from 'node:crypto';
import { describe, test } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import { encodeRedirectBinding, SIG_ALG_RSA_SHA256 } from '../../src/domain/saml/authn-request.ts';
import { createLogoutRequest, LOGOUT_REASON_USER, type LogoutRequestInput } from '../../src/domain/saml/logout-request.ts';
import { createLogoutResponse, type LogoutOutcome } from '../../src/domain/saml/logout-response.ts';
import { verifyLogoutRequest, verifyLogoutResponse } from '../../src/domain/saml/logout-verify.ts';
import { trustedCertificate } from '../../src/domain/saml/signature.ts';
import { attr, children, descendants, NS, onlyChild, parseXml, textOf } from '../../src/domain/saml/xml.ts';
import { spCertPem } from '../support/logout-builder.ts';
import { testKeys } from '../support/saml-builder.ts';

const now = new Date('2026-05-06T07:08:09.123Z');
const randomBytes = (size: number): Uint8Array => Uint8Array.from({ length: size }, (_, i) => i);
const IDP_SLO = 'https://idp.example.test/slo?tenant=7';
const ISSUER = 'https://sso.example.com/sso/saml/conn_01J';
const base: LogoutRequestInput = {
  now,
  destination: IDP_SLO,
  issuer: ISSUER,
  nameId: { value: 'alice@example.com', format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress', spNameQualifier: ISSUER },
  sessionIndexes: ['_session-42'],
};

function built(input: LogoutRequestInput = base) {
  const result = createLogoutRequest(input, { randomBytes });
  if (!result.ok) assert.fail(result.error.message);
  return result.value;
}

function parse(xml: string) {
  const parsed = parseXml(xml);
  if (!parsed.ok) assert.fail(parsed.error.message);
  return parsed.value;
}

describe('createLogoutRequest (SAML core §3.7.1)', () => {
  test('builds ID, Version, IssueInstant, Destination, NotOnOrAfter, Reason, Issuer, NameID, SessionIndex in schema order', () => {
    const request = built();
    assert.equal(request.id, `_${Buffer.from(randomBytes(20)).toString('hex')}`);
    const { root } = parse(request.xml);
    assert.equal(root.namespaceURI, NS.samlp);
    assert.equal(root.localName, 'LogoutRequest');
    assert.equal(attr(root, 'ID'), request.id);
    assert.equal(attr(root, 'Version'), '2.0');
    assert.equal(attr(root, 'IssueInstant'), '2026-05-06T07:08:09Z');
    assert.equal(attr(root, 'Destination'), IDP_SLO);
    assert.equal(attr(root, 'NotOnOrAfter'), '2026-05-06T07:13:09Z');
    assert.equal(request.notOnOrAfter.toISOString(), '2026-05-06T07:13:09.000Z');
    assert.equal(attr(root, 'Reason'), LOGOUT_REASON_USER);
    assert.deepEqual(
      [...descendants(root)].map((el) => `${el.namespaceURI === NS.saml ? 'saml' : 'samlp'}:${el.localName}`),
      ['samlp:LogoutRequest', 'saml:Issuer', 'saml:NameID', 'samlp:SessionIndex'],
    );
    const issuer = onlyChild(root, NS.saml, 'Issuer');
    assert.ok(issuer !== undefined && issuer !== 'many');
    assert.equal(textOf(issuer), ISSUER);
    const nameId = onlyChild(root, NS.saml, 'NameID');
    assert.ok(nameId !== undefined && nameId !== 'many');
    assert.equal(textOf(nameId), 'alice@example.com');
    assert.equal(attr(nameId, 'Format'), 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress');
    assert.equal(attr(nameId, 'SPNameQualifier'), ISSUER);
    assert.equal(attr(nameId, 'NameQualifier'), undefined);
    assert.equal(attr(nameId, 'SPProvidedID'), undefined);
  });

  test('the NameID and its qualifiers come back exactly as given, whatever they hold', () => {
    const nameId = {
      value: '  a&b<c>"d"\r\n\te  ',
      format: 'urn:x:"fmt"&',
      nameQualifier: 'q\twith\ntabs\r',
      spNameQualifier: "sp'<>",
      spProvidedId: 'p&id',
    };
    const { root } = parse(built({ ...base, nameId, sessionIndexes: ['s\r1', 's&2'] }).xml);
    const element = onlyChild(root, NS.saml, 'NameID');
    assert.ok(element !== undefined && element !== 'many');
    assert.equal(textOf(element), nameId.value);
    assert.equal(attr(element, 'Format'), nameId.format);
    assert.equal(attr(element, 'NameQualifier'), nameId.nameQualifier);
    assert.equal(attr(element, 'SPNameQualifier'), nameId.spNameQualifier);
    assert.equal(attr(element, 'SPProvidedID'), nameId.spProvidedId);
    assert.deepEqual(
      children(root, NS.samlp, 'SessionIndex').map((el) => textOf(el)),
      ['s\r1', 's&2'],
    );
  });

  test('options: a given ID, NotOnOrAfter and Reason; no SessionIndex', () => {
    const request = built({
      ...base,
      id: 'lr_1',
      notOnOrAfter: new Date('2026-05-06T07:09:00.999Z'),
      reason: 'urn:oasis:names:tc:SAML:2.0:logout:admin',
      sessionIndexes: [],
    });
    const { root } = parse(request.xml);
    assert.equal(request.id, 'lr_1');
    assert.equal(attr(root, 'NotOnOrAfter'), '2026-05-06T07:09:00Z');
    assert.equal(attr(root, 'Reason'), 'urn:oasis:names:tc:SAML:2.0:logout:admin');
    assert.equal(children(root, NS.samlp, 'SessionIndex').length, 0);
  });

  test('a value XML cannot carry is a typed refusal, not a broken document', () => {
    for (const input of [
      { ...base, nameId: { value: 'a\u0001b' } },
      { ...base, nameId: { value: 'a\ud800b' } },
      { ...base, nameId: { value: 'a', nameQualifier: '\uffff' } },
      { ...base, sessionIndexes: ['ok', 'bad\u0000'] },
    ]) {
      const result = createLogoutRequest(input, { randomBytes });
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.error.code, 'saml_logout_unsupported_identifier');
    }
  });

  test('programming errors throw: an ID that is not an NCName, an invalid date', () => {
    for (const id of ['1abc', 'a b', 'x"y', '']) assert.throws(() => createLogoutRequest({ ...base, id }, { randomBytes }), RangeError);
    assert.throws(() => createLogoutRequest({ ...base, now: new Date(Number.NaN) }, { randomBytes }), RangeError);
  });
});

describe('createLogoutResponse (SAML core §3.7.2, §3.7.3.2)', () => {
  function statusOf(outcome: LogoutOutcome | undefined, statusMessage?: string) {
    const response = createLogoutResponse(
      {
        now,
        destination: IDP_SLO,
        issuer: ISSUER,
        inResponseTo: '_idp-req-1',
        ...(outcome ? { outcome } : {}),
        ...(statusMessage ? { statusMessage } : {}),
      },
      { randomBytes },
    );
    const { root } = parse(response.xml);
    assert.equal(root.localName, 'LogoutResponse');
    assert.equal(attr(root, 'ID'), response.id);
    assert.equal(attr(root, 'InResponseTo'), '_idp-req-1');
    assert.equal(attr(root, 'Destination'), IDP_SLO);
    assert.equal(attr(root, 'IssueInstant'), '2026-05-06T07:08:09Z');
    const status = onlyChild(root, NS.samlp, 'Status');
    assert.ok(status !== undefined && status !== 'many');
    const codes: string[] = [];
    for (let code = children(status, NS.samlp, 'StatusCode')[0]; code !== undefined; code = children(code, NS.samlp, 'StatusCode')[0]) {
      codes.push((attr(code, 'Value') ?? '').replace('urn:oasis:names:tc:SAML:2.0:status:', ''));
    }
    const message = children(status, NS.samlp, 'StatusMessage')[0];
    return { codes, message: message === undefined ? undefined : textOf(message) };
  }

  test('Success by default; PartialLogout as a second-level code under Success', () => {
    assert.deepEqual(statusOf(undefined).codes, ['Success']);
    assert.deepEqual(statusOf('success').codes, ['Success']);
    assert.deepEqual(statusOf('partial_logout').codes, ['Success', 'PartialLogout']);
    assert.deepEqual(statusOf('requester').codes, ['Requester']);
    assert.deepEqual(statusOf('responder', 'one app <unreachable> & more').codes, ['Responder']);
    assert.equal(statusOf('responder', 'one app <unreachable> & more').message, 'one app <unreachable> & more');
  });

  test('refuses values XML cannot carry and IDs that are not NCNames', () => {
    const input = { now, destination: IDP_SLO, issuer: ISSUER, inResponseTo: 'a\u0000' };
    assert.throws(() => createLogoutResponse(input, { randomBytes }), RangeError);
    assert.throws(() => createLogoutResponse({ ...input, inResponseTo: 'ok', id: '9' }, { randomBytes }), RangeError);
  });
});

describe('encodeRedirectBinding for a LogoutResponse (bindings §3.4.4.1)', () => {
  test('carries the message as SAMLResponse and signs SAMLResponse=…&RelayState=…&SigAlg=…', () => {
    const response = createLogoutResponse({ now, destination: IDP_SLO, issuer: ISSUER, inResponseTo: '_r' }, { randomBytes });
    const encoded = encodeRedirectBinding({
      ssoUrl: IDP_SLO,
      xml: response.xml,
      parameter: 'SAMLResponse',
      relayState: 'rs',
      signingKey: testKeys.spKey,
    });
    const pairs = new URL(encoded.url).search.slice(1).split('&');
    assert.deepEqual(
      pairs.map((pair) => pair.split('=')[0]),
      ['tenant', 'SAMLResponse', 'RelayState', 'SigAlg', 'Signature'],
    );
    const signed = pairs.slice(1, 4).join('&');
    const signature = Buffer.from(decodeURIComponent(pairs[4]?.split('=')[1] ?? ''), 'base64');
    assert.equal(verify('sha256', Buffer.from(signed), testKeys.spPublicKey, signature), true);
    assert.equal(encoded.sigAlg, SIG_ALG_RSA_SHA256);
    const message = new URL(encoded.url).searchParams.get('SAMLResponse') ?? '';
    assert.equal(inflateRawSync(Buffer.from(message, 'base64')).toString('utf8'), response.xml);
    // The default stays SAMLRequest.
    assert.ok(new URL(encodeRedirectBinding({ ssoUrl: IDP_SLO, xml: response.xml }).url).searchParams.has('SAMLRequest'));
  });
});

describe('round trip through Lanyard’s own verifiers', () => {
  const spCert = trustedCertificate(spCertPem);
  if (!spCert.ok) throw new Error(spCert.error.message);
  // Lanyard's messages, checked as the IdP would: issuer = our entity ID, destination = the IdP SLO URL.
  const asIdp = { idpEntityId: ISSUER, trustedCerts: [spCert.value], sloUrl: IDP_SLO, now, clockSkewSeconds: 0 };

  test('a signed LogoutRequest verifies, and names the same NameID and SessionIndex', () => {
    const request = built({ ...base, nameId: { ...base.nameId, nameQualifier: 'https://idp.example.test/' } });
    const encoded = encodeRedirectBinding({ ssoUrl: IDP_SLO, xml: request.xml, relayState: 'r1', signingKey: testKeys.spKey });
    const verified = verifyLogoutRequest({ ...asIdp, received: { binding: 'redirect', rawQuery: new URL(encoded.url).search } });
    if (!verified.ok) assert.fail(verified.error.message);
    assert.equal(verified.value.id, request.id);
    assert.deepEqual(verified.value.nameId, {
      value: 'alice@example.com',
      format: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      nameQualifier: 'https://idp.example.test/',
      spNameQualifier: ISSUER,
      spProvidedId: null,
    });
    assert.deepEqual(verified.value.sessionIndexes, ['_session-42']);
    assert.equal(verified.value.relayState, 'r1');
  });

  test('a signed partial LogoutResponse verifies as partial', () => {
    const response = createLogoutResponse(
      { now, destination: IDP_SLO, issuer: ISSUER, inResponseTo: '_r', outcome: 'partial_logout' },
      { randomBytes },
    );
    const encoded = encodeRedirectBinding({ ssoUrl: IDP_SLO, xml: response.xml, parameter: 'SAMLResponse', signingKey: testKeys.spKey });
    const verified = verifyLogoutResponse({
      ...asIdp,
      received: { binding: 'redirect', rawQuery: new URL(encoded.url).search },
      expectedInResponseTo: '_r',
    });
    if (!verified.ok) assert.fail(verified.error.message);
    assert.equal(verified.value.partialLogout, true);
  });
});
