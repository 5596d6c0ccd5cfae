import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  CERTIFICATE_ERROR_CATALOGUE,
  parseCertificates,
  readCertificates as readCertificatesUnderTest,
} from '../../src/crypto/certificates.ts';

type Fixture = { sha256: string; subjectRfc2253: string; notBefore: string; notAfter: string; pem: string };
const fixtures = JSON.parse(readFileSync(new URL('../fixtures/metadata/certificates.json', import.meta.url), 'utf8')) as Record<
  string,
  Fixture
>;
const okta = fixtures.okta!;
const google = fixtures.google!;
const now = new Date('2027-06-01T00:00:00Z');

/** Every refusal code the tests below observe, checked against the catalogue at the end. */
const seenCodes = new Set<string>();
const readCertificates: typeof readCertificatesUnderTest = (input) => {
  const result = readCertificatesUnderTest(input);
  if (!result.ok) seenCodes.add(result.error.code);
  return result;
};

function base64Of(pem: string): string {
  return pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
}

describe('parseCertificates', () => {
  it('describes a PEM certificate as OpenSSL does', () => {
    const result = parseCertificates(okta.pem, now);
    assert.ok(result.ok);
    const [info] = result.value;
    assert.equal(info?.fingerprintSha256, okta.sha256);
    assert.equal(info?.notBefore, okta.notBefore);
    assert.equal(info?.notAfter, okta.notAfter);
    assert.equal(info?.expired, false);
    assert.equal(info?.pem, okta.pem);
    // OpenSSL's RFC 2253 form lists attributes last-first; ours keeps certificate order.
    assert.equal(
      info?.subject,
      okta.subjectRfc2253
        .split(/(?<!\\),/)
        .reverse()
        .join(', '),
    );
    assert.match(info.fingerprintSha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('reads several PEM blocks, ignoring text around them, with CRLF line ends', () => {
    const bundle = `Bag Attributes\r\n    friendlyName: okta\r\n${okta.pem.replace(/\n/g, '\r\n')}subject=CN=Google\n${google.pem}`;
    const result = parseCertificates(bundle, now);
    assert.ok(result.ok);
    assert.deepEqual(
      result.value.map((c) => c.fingerprintSha256),
      [okta.sha256, google.sha256],
    );
  });

  it('reads bare base64 DER on one line or wrapped with spaces and tabs', () => {
    const flat = base64Of(google.pem);
    const wrapped = `\n\t${flat.match(/.{1,50}/g)!.join('\n   \t')}\n`;
    for (const input of [flat, wrapped]) {
      const result = parseCertificates(input, now);
      assert.ok(result.ok);
      assert.equal(result.value[0]?.fingerprintSha256, google.sha256);
      assert.equal(result.value[0]?.pem, google.pem);
    }
  });

  it('marks a certificate expired relative to `now` only', () => {
    const before = parseCertificates(okta.pem, new Date(okta.notAfter));
    const after = parseCertificates(okta.pem, new Date(Date.parse(okta.notAfter) + 1000));
    assert.ok(before.ok && after.ok);
    assert.equal(before.value[0]?.expired, false);
    assert.equal(after.value[0]?.expired, true);
  });

  it('names what is wrong with garbage input', () => {
    const cases: Array<[string, string]> = [
      ['', 'certificate_empty'],
      ['   \n ', 'certificate_empty'],
      ['not a certificate at all!', 'certificate_not_base64'],
      ['VGhpcyBpcyBub3QgYSBjZXJ0aWZpY2F0ZS4=', 'certificate_invalid_der'],
      ['-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----', 'certificate_empty'],
      ['-----BEGIN CERTIFICATE-----\nMIIB', 'certificate_malformed_pem'],
      [`${okta.pem}-----BEGIN CERTIFICATE-----\nMIIB`, 'certificate_malformed_pem'],
      ['-----BEGIN CERTIFICATE-----\n%%%%\n-----END CERTIFICATE-----', 'certificate_not_base64'],
      [`-----BEGIN CERTIFICATE-----\n${base64Of(okta.pem).slice(0, 400)}\n-----END CERTIFICATE-----`, 'certificate_invalid_der'],
      [okta.pem.repeat(21), 'certificate_too_large'],
      ['A'.repeat(300 * 1024), 'certificate_too_large'],
    ];
    for (const [input, code] of cases) {
      const result = readCertificates(input);
      assert.ok(!result.ok, `accepted: ${JSON.stringify(input.slice(0, 40))}`);
      assert.equal(result.error.code, code, JSON.stringify(input.slice(0, 40)));
      assert.ok(result.error.message.length > 10);
    }
  });

  it('refuses a private key pasted by mistake without echoing it', () => {
    const key = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n';
    const result = readCertificates(`${okta.pem}${key}`);
    assert.ok(!result.ok);
    assert.equal(result.error.code, 'certificate_wrong_pem_type');
    assert.match(result.error.message, /PRIVATE KEY/);
    assert.doesNotMatch(result.error.message, /MIIE/);
  });

  it('reads a chain of 20 blocks, and a long run of junk BEGIN lines quickly', () => {
    const chain = readCertificates(okta.pem.repeat(20));
    assert.ok(chain.ok);
    assert.equal(chain.value.length, 20);
    const started = Date.now();
    const junk = readCertificates(`${'-----BEGIN CERTIFICATE-----\n'.repeat(20)}${'A'.repeat(200 * 1024)}`);
    assert.ok(!junk.ok);
    assert.ok(Date.now() - started < 500);
  });

  it('reports which PEM block is broken', () => {
    const result = readCertificates(`${okta.pem}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`);
    assert.ok(!result.ok);
    assert.equal(result.error.code, 'certificate_invalid_der');
    assert.match(result.error.message, /PEM block 2/);
    assert.match(result.error.detail?.cause ?? '', /./);
  });
});

describe('certificate error catalogue', () => {
  it('documents every code the reader returned above, and each documented code was returned', () => {
    assert.deepEqual([...seenCodes].sort(), Object.keys(CERTIFICATE_ERROR_CATALOGUE).sort());
  });
});
