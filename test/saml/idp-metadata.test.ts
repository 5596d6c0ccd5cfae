import * as assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  IDP_METADATA_ERROR_CATALOGUE,
  parseIdpMetadata as parseIdpMetadataUnderTest,
  type IdpMetadata,
  type IdpMetadataErrorCode,
} from '../../src/domain/saml/idp-metadata.ts';

/** Every refusal code the tests below observe, checked against the catalogue at the end. */
const seenCodes = new Set<string>();
const parseIdpMetadata: typeof parseIdpMetadataUnderTest = (xml, options) => {
  const result = parseIdpMetadataUnderTest(xml, options);
  if (!result.ok) seenCodes.add(result.error.code);
  return result;
};

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/metadata/${name}`, import.meta.url), 'utf8');
const certs = JSON.parse(fixture('certificates.json')) as Record<string, { sha256: string }>;
const fingerprint = (name: string): string => certs[name]!.sha256;
const fingerprints = (pems: string[]): string[] => pems.map((pem) => new X509Certificate(pem).fingerprint256);

function parsed(xml: string, options?: { entityId?: string }): IdpMetadata {
  const result = parseIdpMetadata(xml, options);
  assert.ok(result.ok, result.ok ? '' : `${result.error.code}: ${result.error.message}`);
  return result.value;
}

function refused(xml: string, code: IdpMetadataErrorCode, options?: { entityId?: string }): string {
  const result = parseIdpMetadata(xml, options);
  assert.ok(!result.ok, 'metadata was accepted');
  assert.equal(result.error.code, code, result.error.message);
  return result.error.message;
}

const POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

describe('parseIdpMetadata: real IdP shapes', () => {
  it('reads Microsoft Entra ID federation metadata past the signature and RoleDescriptors', () => {
    const tenant = '11111111-2222-4333-8444-555555555555';
    const metadata = parsed(fixture('entra.xml'));
    assert.equal(metadata.entityId, `https://sts.windows.net/${tenant}/`);
    assert.deepEqual(metadata.ssoUrls, {
      redirect: `https://login.microsoftonline.com/${tenant}/saml2`,
      post: `https://login.microsoftonline.com/${tenant}/saml2`,
    });
    assert.deepEqual(metadata.sloUrls, { redirect: `https://login.microsoftonline.com/${tenant}/saml2` });
    // Both rollover certificates, and not the one in ds:Signature or in the WS-Fed RoleDescriptors.
    assert.deepEqual(fingerprints(metadata.signingCertificates), [fingerprint('entra1'), fingerprint('entra2')]);
    assert.deepEqual(metadata.encryptionCertificates, []);
    assert.deepEqual(metadata.nameIdFormats, []);
    assert.equal(metadata.wantAuthnRequestsSigned, false);
    for (const pem of metadata.signingCertificates)
      assert.match(pem, /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
  });

  it('reads Okta app metadata', () => {
    const metadata = parsed(fixture('okta.xml'));
    const sso = 'https://lanyard-fixture.okta.com/app/lanyard-fixture_lanyard_1/exk1fxtrlanyard0d7/sso/saml';
    assert.equal(metadata.entityId, 'http://www.okta.com/exk1fxtrlanyard0d7');
    assert.deepEqual(metadata.ssoUrls, { post: sso, redirect: sso });
    assert.deepEqual(metadata.sloUrls, {});
    assert.deepEqual(fingerprints(metadata.signingCertificates), [fingerprint('okta')]);
    assert.deepEqual(metadata.nameIdFormats, [
      'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
      'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    ]);
    assert.equal(metadata.wantAuthnRequestsSigned, false);
  });

  it('reads AD FS metadata: the IDPSSODescriptor, not the SPSSODescriptor before it', () => {
    const metadata = parsed(fixture('adfs.xml'));
    assert.equal(metadata.entityId, 'http://adfs.fixture.example/adfs/services/trust');
    assert.deepEqual(metadata.ssoUrls, {
      redirect: 'https://adfs.fixture.example/adfs/ls/',
      post: 'https://adfs.fixture.example/adfs/ls/',
    });
    assert.deepEqual(metadata.sloUrls, {
      redirect: 'https://adfs.fixture.example/adfs/ls/',
      post: 'https://adfs.fixture.example/adfs/ls/',
    });
    assert.deepEqual(fingerprints(metadata.signingCertificates), [fingerprint('adfssig'), fingerprint('adfstls')]);
    assert.deepEqual(fingerprints(metadata.encryptionCertificates), [fingerprint('adfsenc')]);
    assert.deepEqual(metadata.nameIdFormats, [
      'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
    ]);
  });

  it('reads Google Workspace metadata with a certificate split over lines', () => {
    const metadata = parsed(fixture('google.xml'));
    assert.equal(metadata.entityId, 'https://accounts.google.com/o/saml2?idpid=C03fxtr1a');
    assert.equal(metadata.ssoUrls.redirect, 'https://accounts.google.com/o/saml2/idp?idpid=C03fxtr1a');
    assert.deepEqual(fingerprints(metadata.signingCertificates), [fingerprint('google')]);
    assert.deepEqual(metadata.nameIdFormats, ['urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress']);
  });

  it('uses a KeyDescriptor without `use` for signing and encryption (metadata §2.4.1.1)', () => {
    const metadata = parsed(fixture('entities-one-idp.xml'));
    assert.deepEqual(fingerprints(metadata.signingCertificates), [fingerprint('idp1')]);
    assert.deepEqual(fingerprints(metadata.encryptionCertificates), [fingerprint('idp1')]);
    assert.equal(metadata.wantAuthnRequestsSigned, true);
  });
});

describe('parseIdpMetadata: EntitiesDescriptor', () => {
  it('takes the only IdP of an EntitiesDescriptor, skipping SP entities', () => {
    assert.equal(parsed(fixture('entities-one-idp.xml')).entityId, 'https://idp-one.fixture.example/saml');
  });

  it('refuses several IdPs, listing their entity IDs (nested ones included)', () => {
    const result = parseIdpMetadata(fixture('entities-two-idps.xml'));
    assert.ok(!result.ok);
    assert.equal(result.error.code, 'metadata_multiple_entities');
    assert.deepEqual(result.error.detail?.entityIds, ['https://idp-one.fixture.example/saml', 'https://idp-two.fixture.example/saml']);
    assert.match(
      result.error.message,
      /2 identity providers.*"https:\/\/idp-one\.fixture\.example\/saml", "https:\/\/idp-two\.fixture\.example\/saml"/,
    );
    assert.doesNotMatch(result.error.message, /sp\.fixture/);
  });

  it('picks one IdP by entityId', () => {
    const metadata = parsed(fixture('entities-two-idps.xml'), { entityId: 'https://idp-two.fixture.example/saml' });
    assert.equal(metadata.entityId, 'https://idp-two.fixture.example/saml');
    assert.deepEqual(metadata.ssoUrls, { redirect: 'https://idp-two.fixture.example/sso' });
    assert.deepEqual(fingerprints(metadata.signingCertificates), [fingerprint('idp2')]);
    assert.equal(metadata.wantAuthnRequestsSigned, false);
  });

  it('says when the chosen entityId is not there', () => {
    const message = refused(fixture('entities-two-idps.xml'), 'metadata_entity_not_found', {
      entityId: 'https://sp.fixture.example/metadata',
    });
    assert.match(message, /idp-one.*idp-two/);
    refused(fixture('okta.xml'), 'metadata_entity_not_found', { entityId: 'http://www.okta.com/other' });
    assert.equal(
      parsed(fixture('okta.xml'), { entityId: 'http://www.okta.com/exk1fxtrlanyard0d7' }).entityId,
      'http://www.okta.com/exk1fxtrlanyard0d7',
    );
  });

  it('refuses an entity ID that appears twice rather than guessing', () => {
    const xml = fixture('entities-two-idps.xml').replace('https://idp-two.fixture.example/saml', 'https://idp-one.fixture.example/saml');
    refused(xml, 'metadata_multiple_entities', { entityId: 'https://idp-one.fixture.example/saml' });
  });

  it('summarises a long list of entity IDs', () => {
    const idp = (n: number): string =>
      `<md:EntityDescriptor entityID="https://idp${n}.example/"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`;
    const xml = `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">${Array.from({ length: 25 }, (_, i) => idp(i)).join('')}</md:EntitiesDescriptor>`;
    const message = refused(xml, 'metadata_multiple_entities');
    assert.match(message, /and 15 more\.$/);
  });
});

describe('parseIdpMetadata: refusals', () => {
  it('refuses what is not XML', () => {
    refused(fixture('not-xml.txt'), 'metadata_not_xml');
    refused('', 'metadata_not_xml');
    refused('{"entityId": "x"}', 'metadata_not_xml');
  });

  it('refuses a DOCTYPE or entity declaration', () => {
    refused(fixture('doctype.xml'), 'metadata_doctype_forbidden');
  });

  it('refuses XML that is not SAML metadata, naming what it is', () => {
    assert.match(
      refused(fixture('not-metadata.xml'), 'metadata_not_saml'),
      /<Response> element in namespace urn:oasis:names:tc:SAML:2\.0:protocol/,
    );
    assert.match(refused('<EntityDescriptor entityID="x"/>', 'metadata_not_saml'), /without a namespace/);
    assert.ok(refused(`<x xmlns="urn:${'a'.repeat(5000)}"/>`, 'metadata_not_saml').length < 300);
  });

  it('refuses SP-only metadata, saying it is service-provider metadata', () => {
    assert.match(refused(fixture('sp-only.xml'), 'metadata_no_idp_descriptor'), /service provider/);
  });

  it('refuses an IdP that does not speak SAML 2.0', () => {
    const xml = fixture('okta.xml').replace(
      'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"',
      'protocolSupportEnumeration="urn:oasis:names:tc:SAML:1.1:protocol"',
    );
    assert.match(refused(xml, 'metadata_no_idp_descriptor'), /SAML 2\.0/);
  });

  it('refuses metadata without a usable SSO service', () => {
    refused(fixture('no-sso.xml'), 'metadata_no_sso_service');
    refused(
      fixture('okta.xml').replaceAll(POST, 'urn:oasis:names:tc:SAML:2.0:bindings:SOAP').replaceAll('HTTP-Redirect', 'PAOS'),
      'metadata_no_sso_service',
    );
  });

  it('refuses SSO locations that are not http(s)', () => {
    const xml = fixture('okta.xml').replace(
      /(Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location=")[^"]+/,
      '$1javascript:alert(1)',
    );
    refused(xml, 'metadata_bad_endpoint_url');
  });

  it('refuses metadata without a signing certificate', () => {
    refused(fixture('no-certificate.xml'), 'metadata_no_signing_certificate');
    // An encryption-only key is no signing key.
    refused(fixture('okta.xml').replace('use="signing"', 'use="encryption"'), 'metadata_no_signing_certificate');
  });

  it('refuses a garbage certificate, explaining why', () => {
    const result = parseIdpMetadata(fixture('garbage-certificate.xml'));
    assert.ok(!result.ok);
    assert.equal(result.error.code, 'metadata_certificate_invalid');
    assert.match(result.error.message, /signing certificate.*does not decode to an X\.509 certificate/);
  });

  it('refuses an entity without entityID', () => {
    refused(fixture('okta.xml').replace(/entityID="[^"]+"/, ''), 'metadata_entity_id_missing');
  });

  it('refuses metadata over 1 MiB', () => {
    refused(
      fixture('okta.xml').replace('</md:EntityDescriptor>', `<!--${'x'.repeat(1024 * 1024)}--></md:EntityDescriptor>`),
      'metadata_too_large',
    );
  });

  it('refuses metadata nested too deep or with too many elements, before building a tree', () => {
    // Issue 12's document: 700 KB of 100,000 nested elements cost ~135 MB of heap to parse.
    const nested = (depth: number) => '<a>'.repeat(depth) + '</a>'.repeat(depth);
    refused(fixture('okta.xml').replace('</md:EntityDescriptor>', `${nested(100_000)}</md:EntityDescriptor>`), 'metadata_too_complex');
    refused(
      fixture('okta.xml').replace('</md:EntityDescriptor>', `${'<x/>'.repeat(10_000)}</md:EntityDescriptor>`),
      'metadata_too_complex',
    );
  });
});

describe('IdP metadata error catalogue', () => {
  it('documents every code returned above, and each documented code was returned', () => {
    assert.deepEqual([...seenCodes].sort(), Object.keys(IDP_METADATA_ERROR_CATALOGUE).sort());
  });
});
