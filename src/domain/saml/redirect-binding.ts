import { verify, type KeyObject } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { ok, type Result } from '../result.ts';
import { fail, type SamlError } from './errors.ts';
import { SIGNATURE_ALGORITHMS, type SignatureTrust } from './signature.ts';

/** Which parameter carries the message (SAML bindings §3.4.4.1). */
export type RedirectMessageParameter = 'SAMLRequest' | 'SAMLResponse';

/**
 * An inbound HTTP-Redirect query, read but not verified. `signedOctets` is what a Signature must
 * cover: the parameters in the order the binding fixes, each exactly as it was URL-encoded on the wire.
 */
export interface RedirectQuery {
  readonly parameter: RedirectMessageParameter;
  /** The base64 DEFLATEd message, URL-decoded. */
  readonly message: string;
  readonly relayState: string | null;
  readonly sigAlg: string | null;
  readonly signature: string | null;
  readonly signedOctets: string;
}

/** The only encoding the binding defines (bindings §3.4.4.1). */
const DEFLATE_ENCODING = 'urn:oasis:names:tc:SAML:2.0:bindings:URL-Encoding:DEFLATE';
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const BINDING_PARAMETERS = new Set(['SAMLRequest', 'SAMLResponse', 'RelayState', 'SigAlg', 'Signature', 'SAMLEncoding']);

/**
 * Reads the raw query string of a Redirect-binding request (everything after `?`, as received; never
 * a re-encoding, since URL-encoding is not canonical and the signature covers the sender's bytes,
 * bindings §3.4.4.1). A binding parameter given twice is refused: the signature would cover one copy
 * while another could be consumed. Parameters the binding does not define are ignored (not signed).
 */
export function readRedirectQuery(rawQuery: string): Result<RedirectQuery, SamlError> {
  const raw = new Map<string, string>();
  for (const pair of (rawQuery.startsWith('?') ? rawQuery.slice(1) : rawQuery).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = formDecode(eq < 0 ? pair : pair.slice(0, eq));
    if (name === undefined || !BINDING_PARAMETERS.has(name)) continue;
    if (raw.has(name))
      return fail('saml_binding_malformed', `The query carries the ${name} parameter more than once.`, { parameter: name });
    raw.set(name, eq < 0 ? '' : pair.slice(eq + 1));
  }
  const request = raw.get('SAMLRequest');
  const response = raw.get('SAMLResponse');
  if ((request === undefined) === (response === undefined)) {
    return fail('saml_binding_malformed', 'The query must carry exactly one of SAMLRequest and SAMLResponse.');
  }
  const parameter: RedirectMessageParameter = request === undefined ? 'SAMLResponse' : 'SAMLRequest';
  const decoded = new Map<string, string>();
  for (const [name, value] of raw) {
    const text = formDecode(value);
    if (text === undefined)
      return fail('saml_binding_malformed', `The ${name} parameter is not valid URL-encoded UTF-8.`, { parameter: name });
    decoded.set(name, text);
  }
  const encoding = decoded.get('SAMLEncoding');
  if (encoding !== undefined && encoding !== DEFLATE_ENCODING) {
    return fail('saml_binding_malformed', `The SAMLEncoding "${encoding}" is not the DEFLATE encoding the binding defines.`);
  }
  const rawRelayState = raw.get('RelayState');
  const rawSigAlg = raw.get('SigAlg');
  // §3.4.4.1: `SAMLRequest=…&RelayState=…&SigAlg=…`, RelayState left out entirely when absent.
  const signedOctets =
    `${parameter}=${raw.get(parameter) ?? ''}` +
    (rawRelayState === undefined ? '' : `&RelayState=${rawRelayState}`) +
    (rawSigAlg === undefined ? '' : `&SigAlg=${rawSigAlg}`);
  return ok({
    parameter,
    message: decoded.get(parameter) ?? '',
    relayState: decoded.get('RelayState') ?? null,
    sigAlg: decoded.get('SigAlg') ?? null,
    signature: decoded.get('Signature') ?? null,
    signedOctets,
  });
}

/** application/x-www-form-urlencoded decoding ("+" is a space); undefined for bad escapes or bytes that are not UTF-8. */
function formDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * Verifies the query Signature (bindings §3.4.4.1) with the pinned certificates only: the SigAlg must
 * be RSA-SHA256/384/512 (RSA-SHA1 only where the policy allows it), and the Signature must verify over
 * `signedOctets`. An unsigned query is refused unless `allowUnsigned`. Returns the fingerprint of the
 * certificate that verified, or null for an accepted unsigned query.
 */
export function verifyRedirectSignature(
  query: RedirectQuery,
  policy: SignatureTrust,
  allowUnsigned: boolean,
): Result<{ fingerprintSha256: string | null }, SamlError> {
  if (query.signature === null) {
    if (query.sigAlg !== null) return fail('saml_binding_malformed', 'The query has a SigAlg but no Signature.');
    if (allowUnsigned) return ok({ fingerprintSha256: null });
    return fail(
      'saml_signature_missing',
      `The ${query.parameter} is not signed, and this connection requires signed logout messages. ` +
        'Configure the identity provider to sign logout messages.',
    );
  }
  if (query.sigAlg === null) return fail('saml_binding_malformed', 'The query has a Signature but no SigAlg.');
  const hash = SIGNATURE_ALGORITHMS.get(query.sigAlg);
  if (hash === undefined) {
    return fail(
      'saml_unsupported_algorithm',
      `The query is signed with "${query.sigAlg}", which Lanyard does not accept; use RSA-SHA256.`,
      { algorithm: query.sigAlg },
    );
  }
  if (hash === 'sha1' && !policy.allowSha1) {
    return fail(
      'saml_sha1_not_allowed',
      'The query is signed with RSA-SHA1. Configure the identity provider to use RSA-SHA256, or allow SHA-1 for this connection.',
      { algorithm: query.sigAlg },
    );
  }
  const signature = decodeBase64(query.signature);
  if (signature === undefined) return fail('saml_binding_malformed', 'The Signature parameter is not valid base64.');
  const octets = Buffer.from(query.signedOctets, 'utf8');
  const trusted = policy.trustedCerts.find((cert) => rsaVerifies(hash, octets, cert.publicKey, signature));
  if (trusted !== undefined) return ok({ fingerprintSha256: trusted.fingerprintSha256 });
  const pinned = policy.trustedCerts.map((cert) => cert.fingerprintSha256);
  return fail(
    'saml_query_signature_invalid',
    pinned.length === 0
      ? `The ${query.parameter} is signed, but no certificate is configured for this connection.`
      : `The signature of the ${query.parameter} does not verify with the pinned certificate ` +
          `(this connection trusts ${pinned.join(', ')}): the query was altered or signed with another key.`,
    { trustedFingerprintsSha256: pinned },
  );
}

function rsaVerifies(hash: string, data: Buffer, key: KeyObject, signature: Buffer): boolean {
  if (key.asymmetricKeyType !== 'rsa') return false;
  try {
    return verify(hash, data, key, signature);
  } catch {
    return false;
  }
}

/**
 * Base64-decodes and inflates (raw DEFLATE, RFC 1951) the message, stopping as soon as the output
 * would pass `maxBytes`: a few hundred bytes of DEFLATE can expand to gigabytes.
 */
export function inflateRedirectMessage(message: string, maxBytes: number): Result<string, SamlError> {
  if (message.length > Math.ceil((maxBytes * 4) / 3) + 4) {
    return fail('saml_logout_too_large', `The encoded message is larger than ${maxBytes} bytes.`, { maxBytes });
  }
  const compressed = decodeBase64(message);
  if (compressed === undefined) return fail('saml_binding_malformed', 'The message parameter is not valid base64.');
  try {
    return ok(UTF8.decode(inflateRawSync(compressed, { maxOutputLength: maxBytes })));
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      return fail('saml_logout_too_large', `The message inflates to more than ${maxBytes} bytes.`, { maxBytes });
    }
    return fail('saml_binding_malformed', 'The message parameter is not raw DEFLATE data of UTF-8 text (bindings §3.4.4.1).');
  }
}

/** Strict base64 (whitespace allowed, as some senders wrap lines). */
export function decodeBase64(text: string): Buffer | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact === '' || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined;
  return Buffer.from(compact, 'base64');
}
