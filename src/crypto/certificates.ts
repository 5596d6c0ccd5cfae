import type { Catalogue } from '../domain/catalogue.ts';
import { err, ok, type Result } from '../domain/result.ts';
import { X509Certificate } from 'node:crypto';

/** What Lanyard shows and stores about an X.509 certificate (the API's `certificates[]` entries, plus the PEM). */
export interface CertificateInfo {
  /** The certificate re-encoded as one PEM block (64-column base64, trailing newline). */
  pem: string;
  /** SHA-256 over the DER bytes, as colon-separated upper-case hex pairs. */
  fingerprintSha256: string;
  /** The subject's attributes in certificate order, joined with ", " (e.g. `C=US, O=Okta, CN=dev-1`). */
  subject: string;
  /** Start of the validity period, ISO 8601 in UTC. */
  notBefore: string;
  /** End of the validity period, ISO 8601 in UTC. */
  notAfter: string;
  /** True when `now` is after `notAfter`. */
  expired: boolean;
}

/**
 * Why a certificate input is refused, by stable code (shown to whoever pasted it, matched on by
 * callers); the message built next to each failure says which block and what exactly.
 */
export const CERTIFICATE_ERROR_CATALOGUE = {
  certificate_empty: { description: 'No certificate was given, or a PEM block is empty.' },
  certificate_wrong_pem_type: { description: 'A PEM block is not a CERTIFICATE (for example a private key pasted by mistake).' },
  certificate_malformed_pem: { description: 'The PEM text is broken: a BEGIN line without its END line.' },
  certificate_too_large: { description: 'More text or more certificates than any real certificate chain has.' },
  certificate_not_base64: { description: 'The text is neither PEM nor base64-encoded DER.' },
  certificate_invalid_der: { description: 'The base64 decodes, but not to an X.509 certificate.' },
} as const satisfies Catalogue;

/** A stable code from {@link CERTIFICATE_ERROR_CATALOGUE}. */
type CertificateErrorCode = keyof typeof CERTIFICATE_ERROR_CATALOGUE;

/** Why a certificate input was refused; `message` is safe to show to the person who pasted it. */
export interface CertificateError {
  code: CertificateErrorCode;
  message: string;
  /** For logs: the X.509 parser's own complaint. */
  detail?: { cause: string };
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** Far more than any real chain; bounds the PEM scan, so a pasted bundle of junk costs little. */
const MAX_CERTIFICATES = 20;
const MAX_INPUT_LENGTH = 256 * 1024;

/**
 * Reads one or several certificates given as PEM blocks or as bare base64 DER (the form found in
 * `<ds:X509Certificate>`, where line breaks and spaces are allowed: XML-DSig §4.4.4 uses
 * `base64Binary`). Text around PEM blocks (such as OpenSSL's "Bag Attributes") is ignored, but a
 * PEM block of another type (a private key pasted by mistake) is refused, never silently skipped.
 */
export function readCertificates(input: string): Result<X509Certificate[], CertificateError> {
  const text = input.trim();
  if (text === '') return failure('certificate_empty', 'No certificate was given.');
  // Both limits come before the PEM regex, whose lazy scan from each BEGIN would otherwise be quadratic.
  if (text.length > MAX_INPUT_LENGTH) {
    return failure('certificate_too_large', `The certificate text is longer than ${MAX_INPUT_LENGTH} characters.`);
  }
  if (text.split('-----BEGIN').length - 1 > MAX_CERTIFICATES) {
    return failure('certificate_too_large', `More than ${MAX_CERTIFICATES} PEM blocks were given.`);
  }
  if (!text.includes('-----BEGIN')) {
    const single = readBase64Der(text, 'The certificate');
    return single.ok ? ok([single.value]) : single;
  }
  const certificates: X509Certificate[] = [];
  let consumed = text;
  for (const match of text.matchAll(PEM_BLOCK)) {
    const [block, label = '', body = ''] = match;
    consumed = consumed.replace(block, '');
    if (label !== 'CERTIFICATE') {
      // Never echo the block itself: it may be a private key.
      return failure('certificate_wrong_pem_type', `Expected a "CERTIFICATE" PEM block but found a "${label.slice(0, 40)}" block.`);
    }
    const read = readBase64Der(body, `PEM block ${certificates.length + 1}`);
    if (!read.ok) return read;
    certificates.push(read.value);
  }
  if (certificates.length === 0 || consumed.includes('-----BEGIN') || consumed.includes('-----END')) {
    return failure('certificate_malformed_pem', 'The PEM text has a BEGIN line without its matching END line, or the reverse.');
  }
  return ok(certificates);
}

/** Reads certificates as {@link readCertificates} does and describes each one relative to `now`. */
export function parseCertificates(input: string, now: Date): Result<CertificateInfo[], CertificateError> {
  const read = readCertificates(input);
  if (!read.ok) return read;
  return ok(read.value.map((certificate) => describeCertificate(certificate, now)));
}

/** Describes a parsed certificate; `expired` is judged against `now`, never the system clock. */
function describeCertificate(certificate: X509Certificate, now: Date): CertificateInfo {
  const notAfter = parseOpenSslTime(certificate.validTo);
  return {
    pem: certificate.toString(),
    fingerprintSha256: certificate.fingerprint256,
    subject: certificate.subject.split('\n').join(', '),
    notBefore: parseOpenSslTime(certificate.validFrom).toISOString(),
    notAfter: notAfter.toISOString(),
    expired: now.getTime() > notAfter.getTime(),
  };
}

/** The DER bytes of a certificate as one line of base64: the content of `<ds:X509Certificate>`. */
export function certificateBase64(certificate: X509Certificate): string {
  return certificate.raw.toString('base64');
}

function readBase64Der(body: string, what: string): Result<X509Certificate, CertificateError> {
  const compact = body.replace(/\s+/g, '');
  if (compact === '') return failure('certificate_empty', `${what} is empty.`);
  // Buffer.from(…, 'base64') skips characters it does not know, so check the alphabet first:
  // otherwise "not a certificate at all" would surface as a confusing DER error.
  if (!BASE64.test(compact) || compact.length % 4 === 1) {
    return failure('certificate_not_base64', `${what} is neither PEM nor base64-encoded DER.`);
  }
  try {
    return ok(new X509Certificate(Buffer.from(compact, 'base64')));
  } catch (cause) {
    return failure('certificate_invalid_der', `${what} is base64 but does not decode to an X.509 certificate.`, cause);
  }
}

function failure(code: CertificateErrorCode, message: string, cause?: unknown): Result<never, CertificateError> {
  if (cause === undefined) return err({ code, message });
  return err({ code, message, detail: { cause: cause instanceof Error ? cause.message : JSON.stringify(cause) } });
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * Node 20's `validFrom`/`validTo` are OpenSSL's `ASN1_TIME_print` text ("Feb  9 21:52:06 2016 GMT");
 * parsed by hand rather than with the engine's lenient legacy `Date` parser.
 */
function parseOpenSslTime(text: string): Date {
  const match = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}) GMT$/.exec(text);
  const month = match === null ? -1 : MONTHS.indexOf(match[1] ?? '');
  if (match === null || month < 0) throw new Error(`Unexpected certificate time format: ${text}`);
  const [day, hours, minutes, seconds, year] = match.slice(2).map(Number);
  if (year === undefined) throw new Error(`Unexpected certificate time format: ${text}`);
  return new Date(Date.UTC(year, month, day, hours, minutes, seconds));
}
