import * as assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseIdpMetadata } from '../../src/domain/saml/idp-metadata.ts';
import { SP_ENCRYPTION_METHODS, renderSpMetadata, type SpMetadataInput } from '../../src/domain/saml/sp-metadata.ts';
import { NS, attr, children, firstChild, parseXml, textOf } from '../../src/domain/saml/xml.ts';
import type { XmlElement } from '../../src/domain/saml/xml-tree.ts';

const certs = JSON.parse(readFileSync(new URL('../fixtures/metadata/certificates.json', import.meta.url), 'utf8')) as Record<
  string,
  { pem: string; sha256: string }
>;
const sp = certs.sp!;

const input: SpMetadataInput = {
  entityId: 'https://sso.example.com/sso/saml/conn_01J?tenant="a"&x=<y>',
  acsUrl: 'https://sso.example.com/sso/saml/conn_01J/acs?a=1&b=2',
  sloUrl: 'https://sso.example.com/sso/saml/conn_01J/slo',
  certificate: sp.pem,
  encryptAssertions: false,
  authnRequestsSigned: true,
  nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
};

function descriptorOf(xml: string): { root: XmlElement; descriptor: XmlElement } {
  const parsed = parseXml(xml);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
  assert.equal(parsed.value.root.namespaceURI, NS.md);
  assert.equal(parsed.value.root.localName, 'EntityDescriptor');
  const descriptors = children(parsed.value.root, NS.md, 'SPSSODescriptor');
  assert.equal(descriptors.length, 1);
  return { root: parsed.value.root, descriptor: descriptors[0]! };
}

function keyDescriptors(descriptor: XmlElement): Map<string, XmlElement> {
  return new Map(children(descriptor, NS.md, 'KeyDescriptor').map((el) => [attr(el, 'use') ?? '', el]));
}

function certificateIn(keyDescriptor: XmlElement): string {
  const data = firstChild(firstChild(keyDescriptor, NS.ds, 'KeyInfo')!, NS.ds, 'X509Data')!;
  return new X509Certificate(Buffer.from(textOf(firstChild(data, NS.ds, 'X509Certificate')!), 'base64')).fingerprint256;
}

describe('renderSpMetadata', () => {
  it('parses back with the project parser: entity ID, ACS, SLO, NameIDFormat, flags, signing certificate', () => {
    const { root, descriptor } = descriptorOf(renderSpMetadata(input));
    assert.equal(attr(root, 'entityID'), input.entityId);
    assert.equal(attr(descriptor, 'protocolSupportEnumeration'), 'urn:oasis:names:tc:SAML:2.0:protocol');
    assert.equal(attr(descriptor, 'AuthnRequestsSigned'), 'true');
    assert.equal(attr(descriptor, 'WantAssertionsSigned'), 'true');

    const [acs, ...moreAcs] = children(descriptor, NS.md, 'AssertionConsumerService');
    assert.equal(moreAcs.length, 0);
    assert.equal(attr(acs!, 'Binding'), 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST');
    assert.equal(attr(acs!, 'Location'), input.acsUrl);
    assert.equal(attr(acs!, 'index'), '0');
    assert.equal(attr(acs!, 'isDefault'), 'true');

    const slo = children(descriptor, NS.md, 'SingleLogoutService');
    assert.deepEqual(
      slo.map((el) => [attr(el, 'Binding'), attr(el, 'Location')]),
      [
        ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', input.sloUrl],
        ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', input.sloUrl],
      ],
    );
    assert.deepEqual(children(descriptor, NS.md, 'NameIDFormat').map(textOf), [input.nameIdFormat]);

    const keys = keyDescriptors(descriptor);
    assert.deepEqual([...keys.keys()], ['signing']);
    assert.equal(certificateIn(keys.get('signing')!), sp.sha256);
    assert.equal(children(keys.get('signing')!, NS.md, 'EncryptionMethod').length, 0);
  });

  it('announces the encryption key and algorithms only when assertion encryption is on', () => {
    const { descriptor } = descriptorOf(renderSpMetadata({ ...input, encryptAssertions: true }));
    const keys = keyDescriptors(descriptor);
    assert.deepEqual([...keys.keys()], ['signing', 'encryption']);
    assert.equal(certificateIn(keys.get('encryption')!), sp.sha256);
    assert.deepEqual(
      children(keys.get('encryption')!, NS.md, 'EncryptionMethod').map((el) => attr(el, 'Algorithm')),
      [
        'http://www.w3.org/2009/xmlenc11#aes256-gcm',
        'http://www.w3.org/2009/xmlenc11#aes128-gcm',
        'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
        'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
      ],
    );
    assert.equal(SP_ENCRYPTION_METHODS.length, 4);
  });

  it('follows the SPSSODescriptorType element order', () => {
    const { descriptor } = descriptorOf(renderSpMetadata({ ...input, encryptAssertions: true }));
    const order = [];
    for (let child = descriptor.firstChild; child !== null; child = child.nextSibling) {
      if (child.nodeType === 1) order.push(child.localName);
    }
    assert.deepEqual(order, [
      'KeyDescriptor',
      'KeyDescriptor',
      'SingleLogoutService',
      'SingleLogoutService',
      'NameIDFormat',
      'AssertionConsumerService',
    ]);
  });

  it('escapes every value', () => {
    const xml = renderSpMetadata(input);
    assert.ok(xml.includes('entityID="https://sso.example.com/sso/saml/conn_01J?tenant=&quot;a&quot;&amp;x=&lt;y&gt;"'));
    assert.ok(xml.includes('?a=1&amp;b=2'));
    const nameIdFormat = '</md:NameIDFormat><md:AssertionConsumerService Location="https://evil.example/"/>';
    const { descriptor } = descriptorOf(renderSpMetadata({ ...input, nameIdFormat }));
    assert.deepEqual(children(descriptor, NS.md, 'NameIDFormat').map(textOf), [nameIdFormat]);
    assert.equal(children(descriptor, NS.md, 'AssertionConsumerService').length, 1);
  });

  it('omits SLO when there is none and writes the flags as given', () => {
    const { descriptor } = descriptorOf(
      renderSpMetadata({ ...input, sloUrl: undefined, authnRequestsSigned: false, wantAssertionsSigned: false }),
    );
    assert.equal(children(descriptor, NS.md, 'SingleLogoutService').length, 0);
    assert.equal(attr(descriptor, 'AuthnRequestsSigned'), 'false');
    assert.equal(attr(descriptor, 'WantAssertionsSigned'), 'false');
  });

  it('accepts the certificate as bare base64 too, and refuses anything but one certificate', () => {
    const bare = sp.pem.replace(/-----[A-Z ]+-----/g, '');
    assert.equal(renderSpMetadata({ ...input, certificate: bare }), renderSpMetadata(input));
    assert.throws(() => renderSpMetadata({ ...input, certificate: 'garbage' }), TypeError);
    assert.throws(() => renderSpMetadata({ ...input, certificate: `${sp.pem}${certs.okta!.pem}` }), TypeError);
  });

  it('is recognised as SP metadata by the IdP metadata parser', () => {
    const result = parseIdpMetadata(renderSpMetadata(input));
    assert.ok(!result.ok);
    assert.equal(result.error.code, 'metadata_no_idp_descriptor');
  });
});
