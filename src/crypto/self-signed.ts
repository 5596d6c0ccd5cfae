import { createHash, createPublicKey, generateKeyPair, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

/** What {@link createSelfSignedCertificate} needs; everything that varies comes in as an argument. */
export interface SelfSignedCertificateInput {
  /** The RSA private key that signs the certificate (it is self-signed, so also the subject's key). */
  privateKey: KeyObject;
  /** Subject and issuer common name, 1 to 64 characters (RFC 5280 Appendix A, `ub-common-name`). */
  commonName: string;
  /** Whole years of validity, 1 to 100. */
  validityYears: number;
  /** Start of validity; sub-second precision is dropped. */
  now: Date;
  /** 8 to 20 random octets for the serial number (RFC 5280 §4.1.2.2); the top bits are adjusted. */
  serialEntropy: Uint8Array;
}

/** A generated service-provider key pair and its certificate, ready to seal and store. */
export interface SelfSignedKeyPair {
  /** The certificate as one PEM block. */
  certificatePem: string;
  /** The private key as PKCS #8 PEM (unencrypted: Lanyard seals it before storing it). */
  privateKeyPem: string;
}

/** Randomness source, injected so tests are deterministic without stubbing globals. */
export interface SelfSignedDeps {
  randomBytes: (size: number) => Uint8Array;
}

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * Generates an RSA-2048 key pair and a self-signed certificate for it: the key a connection's SP
 * signs AuthnRequests with and IdPs encrypt assertions to. Key generation runs off the event loop.
 */
export async function generateSelfSignedKeyPair(
  options: { commonName: string; validityYears: number; now: Date },
  deps: SelfSignedDeps,
): Promise<SelfSignedKeyPair> {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  const certificatePem = createSelfSignedCertificate({ ...options, privateKey, serialEntropy: deps.randomBytes(16) });
  return { certificatePem, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/**
 * Builds and signs an X.509 v3 certificate (RFC 5280 §4.1) with sha256WithRSAEncryption for the
 * public half of `privateKey`; returns it as PEM. node:crypto can verify certificates but not
 * create them, so the TBSCertificate is DER-encoded here, for exactly this one shape.
 *
 * @throws RangeError when an argument is out of range (a programming error, not user input).
 */
export function createSelfSignedCertificate(input: SelfSignedCertificateInput): string {
  const { privateKey, commonName, validityYears, now, serialEntropy } = input;
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'rsa') throw new RangeError('An RSA private key is required.');
  if (commonName.length < 1 || Array.from(commonName).length > 64) throw new RangeError('The common name must be 1 to 64 characters.');
  if (!Number.isInteger(validityYears) || validityYears < 1 || validityYears > 100) {
    throw new RangeError('validityYears must be a whole number from 1 to 100.');
  }
  if (serialEntropy.length < 8 || serialEntropy.length > 20) throw new RangeError('serialEntropy must be 8 to 20 bytes.');

  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const notAfter = new Date(notBefore);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + validityYears);
  const name = encodeName(commonName);
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))), // version v3 (RFC 5280 §4.1.2.1)
    integer(serialNumber(serialEntropy)),
    SHA256_WITH_RSA,
    name, // issuer = subject: self-signed
    sequence(encodeTime(notBefore), encodeTime(notAfter)),
    name,
    spki,
    explicit(3, sequence(...extensions(spki))),
  );
  // PKCS #1 v1.5 is node:crypto's default padding for RSA keys: what sha256WithRSAEncryption means.
  const signature = sign('sha256', tbs, privateKey);
  const der = sequence(tbs, SHA256_WITH_RSA, bitString(signature));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/**
 * A positive serial without a leading zero octet: clearing the top bit keeps it positive (DER
 * INTEGER is two's complement) and setting the next one keeps it non-zero and minimal in length.
 */
function serialNumber(entropy: Uint8Array): Buffer {
  const serial = Buffer.from(entropy);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40;
  return serial;
}

function extensions(spki: Buffer): Buffer[] {
  // RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's value.
  const keyId = createHash('sha1').update(subjectPublicKeyBits(spki)).digest();
  return [
    extension(OID.subjectKeyIdentifier, false, octetString(keyId)),
    // §4.2.1.1: may be omitted when self-signed, but path builders (and openssl) like to see it.
    extension(OID.authorityKeyIdentifier, false, sequence(tagged(0x80, keyId))),
    // §4.2.1.9: an end-entity certificate, never a CA.
    extension(OID.basicConstraints, true, sequence()),
    // §4.2.1.3: digitalSignature (bit 0) for signing AuthnRequests, keyEncipherment (bit 2) for
    // the key transport of encrypted assertions. Named bits: trailing zero bits dropped, 5 unused.
    extension(OID.keyUsage, true, Buffer.from([0x03, 0x02, 0x05, 0xa0])),
  ];
}

/** The value octets of subjectPublicKey inside SubjectPublicKeyInfo, without the unused-bits octet. */
function subjectPublicKeyBits(spki: Buffer): Buffer {
  const outer = readHeader(spki, 0);
  const algorithm = readHeader(spki, outer.contentStart);
  const bits = readHeader(spki, algorithm.contentStart + algorithm.length);
  return spki.subarray(bits.contentStart + 1, bits.contentStart + bits.length);
}

function readHeader(der: Buffer, offset: number): { contentStart: number; length: number } {
  const first = der.readUInt8(offset + 1);
  if (first < 0x80) return { contentStart: offset + 2, length: first };
  const count = first & 0x7f;
  return { contentStart: offset + 2 + count, length: der.readUIntBE(offset + 2, count) };
}

function encodeName(commonName: string): Buffer {
  // Name ::= SEQUENCE OF RelativeDistinguishedName; one RDN with one attribute. UTF8String per
  // RFC 5280 §4.1.2.4 (new certificates MUST use it for DirectoryString).
  return sequence(set(sequence(oid(OID.commonName), tagged(0x0c, Buffer.from(commonName, 'utf8')))));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, always in Z with seconds. */
function encodeTime(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 9999) throw new RangeError('Certificate dates must fall between 1950 and 9999.');
  return year < 2050 ? tagged(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii')) : tagged(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  // Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING };
  // DER omits a BOOLEAN equal to its DEFAULT (X.690 §11.5).
  const parts = [oid(id)];
  if (critical) parts.push(Buffer.from([0x01, 0x01, 0xff]));
  parts.push(octetString(value));
  return sequence(...parts);
}

const OID = {
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
} as const;

// AlgorithmIdentifier with explicit NULL parameters, as RFC 4055 §5 requires for RSA PKCS #1 v1.5.
const SHA256_WITH_RSA = sequence(oid(OID.sha256WithRSAEncryption), Buffer.from([0x05, 0x00]));

// --- DER primitives (X.690 §8 and §10): definite lengths, minimal encodings. ---

function tagged(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(content.length), content]);
}

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const octets: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest & 0xff);
  return Buffer.from([0x80 | octets.length, ...octets]);
}

function sequence(...items: Buffer[]): Buffer {
  return tagged(0x30, Buffer.concat(items));
}

function set(...items: Buffer[]): Buffer {
  return tagged(0x31, Buffer.concat(items));
}

function explicit(tagNumber: number, content: Buffer): Buffer {
  return tagged(0xa0 | tagNumber, content);
}

/** A non-negative INTEGER from big-endian magnitude octets, with a 0x00 prefix when the top bit is set. */
function integer(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  return tagged(0x02, (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function octetString(content: Buffer): Buffer {
  return tagged(0x04, content);
}

function bitString(content: Buffer): Buffer {
  return tagged(0x03, Buffer.concat([Buffer.from([0]), content]));
}

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const octets = [first * 40 + second];
  for (const arc of rest) {
    // Base-128, most significant group first, high bit set on all but the last (X.690 §8.19).
    const groups = [arc & 0x7f];
    for (let value = Math.floor(arc / 128); value > 0; value = Math.floor(value / 128)) groups.unshift((value & 0x7f) | 0x80);
    octets.push(...groups);
  }
  return tagged(0x06, Buffer.from(octets));
}
