import * as assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { SIG_ALG_RSA_SHA256, createAuthnRequest, encodeRedirectBinding } from '../../src/domain/saml/authn-request.ts';
import { NS, attr, children, descendants, firstChild, parseXml, textOf } from '../../src/domain/saml/xml.ts';

const now = new Date('2026-05-06T07:08:09.123Z');
const randomBytes = (size: number): Uint8Array => Uint8Array.from({ length: size }, (_, i) => i);
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const request = {
  now,
  destination: 'https://accounts.google.com/o/saml2/idp?idpid=C03fxtr1a',
  acsUrl: 'https://sso.example.com/sso/saml/conn_01J/acs',
  issuer: 'https://sso.example.com/sso/saml/conn_01J',
  nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
};

/** Splits a query into raw (still URL-encoded) name=value pairs, in order. */
function rawParameters(url: string): Array<[string, string]> {
  return new URL(url).search
    .slice(1)
    .split('&')
    .map((pair) => pair.split('=', 2) as [string, string]);
}

function inflate(url: string): string {
  const samlRequest = new URL(url).searchParams.get('SAMLRequest')!;
  return inflateRawSync(Buffer.from(samlRequest, 'base64')).toString('utf8');
}

describe('createAuthnRequest', () => {
  it('builds the request with an ID from the injected randomness', () => {
    const built = createAuthnRequest(request, { randomBytes });
    assert.equal(built.id, `_${Buffer.from(randomBytes(20)).toString('hex')}`);
    const parsed = parseXml(built.xml);
    assert.ok(parsed.ok);
    const root = parsed.value.root;
    assert.equal(root.namespaceURI, NS.samlp);
    assert.equal(root.localName, 'AuthnRequest');
    assert.equal(attr(root, 'ID'), built.id);
    assert.equal(attr(root, 'Version'), '2.0');
    assert.equal(attr(root, 'IssueInstant'), '2026-05-06T07:08:09Z');
    assert.equal(attr(root, 'Destination'), request.destination);
    assert.equal(attr(root, 'AssertionConsumerServiceURL'), request.acsUrl);
    assert.equal(attr(root, 'ProtocolBinding'), 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST');
    assert.equal(attr(root, 'ForceAuthn'), undefined);
    assert.equal(textOf(firstChild(root, NS.saml, 'Issuer')!), request.issuer);
    const policy = children(root, NS.samlp, 'NameIDPolicy');
    assert.equal(policy.length, 1);
    assert.equal(attr(policy[0]!, 'Format'), request.nameIdFormat);
    assert.equal(attr(policy[0]!, 'AllowCreate'), 'true');
    // Issuer precedes NameIDPolicy (SAML core §3.2.1, §3.4.1 sequence).
    assert.deepEqual(
      [...descendants(root)].map((el) => el.localName),
      ['AuthnRequest', 'Issuer', 'NameIDPolicy'],
    );
  });

  it('takes an ID argument, options, and escapes values', () => {
    const built = createAuthnRequest(
      {
        ...request,
        id: 'req_1',
        acsUrl: 'https://sp.example/acs?a=1&b="2"',
        allowCreate: false,
        forceAuthn: true,
        nameIdFormat: undefined,
      },
      { randomBytes },
    );
    const parsed = parseXml(built.xml);
    assert.ok(parsed.ok);
    assert.equal(built.id, 'req_1');
    assert.equal(attr(parsed.value.root, 'AssertionConsumerServiceURL'), 'https://sp.example/acs?a=1&b="2"');
    assert.equal(attr(parsed.value.root, 'ForceAuthn'), 'true');
    const policy = firstChild(parsed.value.root, NS.samlp, 'NameIDPolicy')!;
    assert.equal(attr(policy, 'Format'), undefined);
    assert.equal(attr(policy, 'AllowCreate'), 'false');
  });

  it('refuses an ID that is not an NCName', () => {
    for (const id of ['1abc', 'a b', 'x"y', '']) assert.throws(() => createAuthnRequest({ ...request, id }, { randomBytes }), RangeError);
  });
});

describe('encodeRedirectBinding', () => {
  const built = createAuthnRequest(request, { randomBytes });

  it('deflates and base64-encodes the request, keeping the IdP query parameters first', () => {
    const encoded = encodeRedirectBinding({ ssoUrl: request.destination, xml: built.xml, relayState: 'st_abc+/= é' });
    assert.ok(encoded.url.startsWith('https://accounts.google.com/o/saml2/idp?idpid=C03fxtr1a&SAMLRequest='));
    assert.equal(inflate(encoded.url), built.xml);
    const query = new URL(encoded.url).searchParams;
    assert.equal(query.get('idpid'), 'C03fxtr1a');
    assert.equal(query.get('RelayState'), 'st_abc+/= é');
    assert.equal(query.get('SigAlg'), null);
    assert.equal(query.get('Signature'), null);
    assert.deepEqual(
      rawParameters(encoded.url).map(([name]) => name),
      ['idpid', 'SAMLRequest', 'RelayState'],
    );
    assert.equal(encoded.samlRequest, query.get('SAMLRequest'));
    // Raw DEFLATE (RFC 1951): no zlib header (0x78).
    assert.notEqual(Buffer.from(encoded.samlRequest, 'base64')[0], 0x78);
  });

  it('signs the exact SAMLRequest=…&RelayState=…&SigAlg=… octets with rsa-sha256', () => {
    const encoded = encodeRedirectBinding({ ssoUrl: request.destination, xml: built.xml, relayState: 'st_1', signingKey: privateKey });
    const parameters = rawParameters(encoded.url);
    assert.deepEqual(
      parameters.map(([name]) => name),
      ['idpid', 'SAMLRequest', 'RelayState', 'SigAlg', 'Signature'],
    );
    const signed = parameters
      .slice(1, 4)
      .map(([name, value]) => `${name}=${value}`)
      .join('&');
    const signature = Buffer.from(decodeURIComponent(parameters[4]![1]), 'base64');
    assert.equal(verify('sha256', Buffer.from(signed), publicKey, signature), true);
    assert.equal(decodeURIComponent(parameters[3]![1]), SIG_ALG_RSA_SHA256);
    assert.equal(encoded.sigAlg, SIG_ALG_RSA_SHA256);
    assert.equal(encoded.signature, signature.toString('base64'));
    // A tampered RelayState no longer verifies.
    assert.equal(verify('sha256', Buffer.from(signed.replace('st_1', 'st_2')), publicKey, signature), false);
    assert.equal(inflate(encoded.url), built.xml);
  });

  it('signs without RelayState when there is none', () => {
    const encoded = encodeRedirectBinding({ ssoUrl: 'https://idp.example/sso#fragment', xml: built.xml, signingKey: privateKey });
    const parameters = rawParameters(encoded.url);
    assert.deepEqual(
      parameters.map(([name]) => name),
      ['SAMLRequest', 'SigAlg', 'Signature'],
    );
    assert.ok(encoded.url.startsWith('https://idp.example/sso?SAMLRequest='));
    assert.ok(!encoded.url.includes('#'));
    const signed = parameters
      .slice(0, 2)
      .map(([name, value]) => `${name}=${value}`)
      .join('&');
    assert.equal(verify('sha256', Buffer.from(signed), publicKey, Buffer.from(decodeURIComponent(parameters[2]![1]), 'base64')), true);
  });

  it('refuses what the binding forbids', () => {
    assert.throws(() => encodeRedirectBinding({ ssoUrl: request.destination, xml: built.xml, relayState: 'x'.repeat(81) }), RangeError);
    assert.throws(() => encodeRedirectBinding({ ssoUrl: 'https://idp.example/sso?SAMLRequest=x', xml: built.xml }), RangeError);
    assert.throws(() => encodeRedirectBinding({ ssoUrl: 'javascript:alert(1)', xml: built.xml }), RangeError);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    assert.throws(() => encodeRedirectBinding({ ssoUrl: request.destination, xml: built.xml, signingKey: ec }), RangeError);
    assert.throws(() => encodeRedirectBinding({ ssoUrl: request.destination, xml: built.xml, signingKey: publicKey }), RangeError);
  });
});

describe('encodeRedirectBinding with parameter SAMLResponse', () => {
  it('carries the message as SAMLResponse and signs SAMLResponse=…&SigAlg=…', () => {
    const built = createAuthnRequest(request, { randomBytes });
    const encoded = encodeRedirectBinding({
      ssoUrl: 'https://idp.example/slo',
      xml: built.xml,
      parameter: 'SAMLResponse',
      signingKey: privateKey,
    });
    const parameters = rawParameters(encoded.url);
    assert.deepEqual(
      parameters.map(([name]) => name),
      ['SAMLResponse', 'SigAlg', 'Signature'],
    );
    const signed = parameters
      .slice(0, 2)
      .map(([name, value]) => `${name}=${value}`)
      .join('&');
    assert.equal(
      verify('sha256', Buffer.from(signed), publicKey, Buffer.from(decodeURIComponent(parameters[2]?.[1] ?? ''), 'base64')),
      true,
    );
  });
});
