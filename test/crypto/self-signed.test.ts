import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseCertificates } from '../../src/crypto/certificates.ts';
import { createSelfSignedCertificate, generateSelfSignedKeyPair } from '../../src/crypto/self-signed.ts';

const now = new Date('2026-03-04T05:06:07.890Z');
const entropy = Uint8Array.from({ length: 16 }, (_, i) => 0xf0 + i);

function openssl(args: string[], input: string): string {
  return execFileSync('openssl', args, { input, encoding: 'utf8' });
}

describe('createSelfSignedCertificate', () => {
  let privateKey: KeyObject;
  let pem: string;
  let dir: string;
  before(() => {
    privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    pem = createSelfSignedCertificate({ privateKey, commonName: 'Lanyard SP conn_01J', validityYears: 10, now, serialEntropy: entropy });
    dir = mkdtempSync(join(tmpdir(), 'lanyard-self-signed-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is a certificate node:crypto parses, self-verifies and pairs with the key', () => {
    const certificate = new X509Certificate(pem);
    assert.equal(certificate.verify(certificate.publicKey), true);
    assert.equal(certificate.checkPrivateKey(privateKey), true);
    assert.equal(certificate.subject, 'CN=Lanyard SP conn_01J');
    assert.equal(certificate.issuer, 'CN=Lanyard SP conn_01J');
    assert.equal(certificate.ca, false);
    assert.equal(certificate.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
    // Top bit cleared (positive), next bit set (no leading zero): 0xf0 -> 0x70 | 0x40.
    assert.equal(certificate.serialNumber, '70F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF');
  });

  it('has whole-second validity starting at `now`, in UTCTime before 2050', () => {
    const parsed = parseCertificates(pem, now);
    assert.ok(parsed.ok);
    assert.equal(parsed.value[0]?.notBefore, '2026-03-04T05:06:07.000Z');
    assert.equal(parsed.value[0]?.notAfter, '2036-03-04T05:06:07.000Z');
    assert.equal(parsed.value[0]?.expired, false);
    assert.match(openssl(['asn1parse'], pem), /UTCTIME\s+:260304050607Z[\s\S]*UTCTIME\s+:360304050607Z/);
  });

  it('switches to GeneralizedTime from 2050 (RFC 5280 §4.1.2.5)', () => {
    const long = createSelfSignedCertificate({ privateKey, commonName: 'long', validityYears: 30, now, serialEntropy: entropy });
    assert.match(openssl(['asn1parse'], long), /UTCTIME\s+:260304050607Z[\s\S]*GENERALIZEDTIME\s+:20560304050607Z/);
    assert.equal(new X509Certificate(long).validTo, 'Mar  4 05:06:07 2056 GMT');
  });

  it('is read by `openssl x509 -text` as a v3 sha256WithRSAEncryption end-entity certificate', () => {
    const text = openssl(['x509', '-noout', '-text'], pem);
    assert.match(text, /Version: 3 \(0x2\)/);
    assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
    assert.match(text, /Issuer: CN ?= ?Lanyard SP conn_01J/);
    assert.match(text, /Subject: CN ?= ?Lanyard SP conn_01J/);
    assert.match(text, /Public-Key: \(2048 bit\)/);
    assert.match(text, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(text, /Key Usage: critical\s+Digital Signature, Key Encipherment/);
    assert.match(text, /Not Before: Mar {2}4 05:06:07 2026 GMT/);
    // Strict X.509 checks and a self-signature check, with the certificate as its own anchor.
    const file = join(dir, 'cert.pem');
    writeFileSync(file, pem);
    assert.match(openssl(['verify', '-x509_strict', '-check_ss_sig', '-CAfile', file, file], ''), /: OK/);
  });

  it('computes the subject key identifier as OpenSSL does (RFC 5280 §4.2.1.2 method 1)', () => {
    const keyFile = join(dir, 'key.pem');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const reference = execFileSync('openssl', ['req', '-new', '-x509', '-key', keyFile, '-subj', '/CN=reference', '-days', '1'], {
      encoding: 'utf8',
    });
    const identifier = (certificate: string): string =>
      /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(openssl(['x509', '-noout', '-text'], certificate))![1]!;
    assert.equal(identifier(pem), identifier(reference));
    assert.match(openssl(['x509', '-noout', '-text'], pem), new RegExp(`Authority Key Identifier:\\s*\\n\\s*(keyid:)?${identifier(pem)}`));
  });

  it('encodes a non-ASCII common name as UTF8String', () => {
    const utf8 = createSelfSignedCertificate({
      privateKey,
      commonName: 'Société Générale — SP',
      validityYears: 1,
      now,
      serialEntropy: entropy,
    });
    assert.equal(new X509Certificate(utf8).subject, 'CN=Société Générale — SP');
    assert.match(openssl(['asn1parse'], utf8), /UTF8STRING/);
  });

  it('keeps a serial positive and minimal when the entropy starts with zero bits', () => {
    const zeros = createSelfSignedCertificate({ privateKey, commonName: 'z', validityYears: 1, now, serialEntropy: new Uint8Array(8) });
    assert.equal(new X509Certificate(zeros).serialNumber, '4000000000000000');
  });

  it('refuses arguments out of range', () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const base = { privateKey, commonName: 'x', validityYears: 1, now, serialEntropy: entropy };
    assert.throws(() => createSelfSignedCertificate({ ...base, privateKey: ec }), RangeError);
    assert.throws(() => createSelfSignedCertificate({ ...base, commonName: '' }), RangeError);
    assert.throws(() => createSelfSignedCertificate({ ...base, commonName: 'x'.repeat(65) }), RangeError);
    assert.throws(() => createSelfSignedCertificate({ ...base, validityYears: 0 }), RangeError);
    assert.throws(() => createSelfSignedCertificate({ ...base, validityYears: 1.5 }), RangeError);
    assert.throws(() => createSelfSignedCertificate({ ...base, serialEntropy: new Uint8Array(4) }), RangeError);
  });
});

describe('generateSelfSignedKeyPair', () => {
  it('returns a PKCS #8 key and its certificate, with the serial from the injected randomness', async () => {
    const sizes: number[] = [];
    const randomBytes = (size: number): Uint8Array => {
      sizes.push(size);
      return new Uint8Array(size).fill(0x11);
    };
    const pair = await generateSelfSignedKeyPair({ commonName: 'Lanyard SP', validityYears: 5, now }, { randomBytes });
    assert.deepEqual(sizes, [16]);
    assert.match(pair.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    const certificate = new X509Certificate(pair.certificatePem);
    assert.equal(certificate.checkPrivateKey(createPrivateKey(pair.privateKeyPem)), true);
    assert.equal(certificate.verify(certificate.publicKey), true);
    assert.equal(certificate.serialNumber, `51${'11'.repeat(15)}`);
    assert.equal(certificate.validTo, 'Mar  4 05:06:07 2031 GMT');
  });
});
