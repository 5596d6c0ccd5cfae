import { constants, createDecipheriv, privateDecrypt, type KeyObject } from 'node:crypto';
import { namespacesInScope } from './canonicalize.ts';
import { ok } from '../result.ts';
import { fail, type SamlResult } from './errors.ts';
import { DIGEST_ALGORITHMS } from './signature.ts';
import { attr, childElements, children, escapeXml, isElement, NS, parseXml, textOf } from './xml.ts';
import type { XmlElement } from './xml-tree.ts';

interface DataAlgorithm {
  readonly cipher: 'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc' | 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm';
  readonly keyLength: number;
  readonly gcm: boolean;
}

/** Block encryption algorithms (XML-Enc 1.1 §5.2). 3DES and anything else are refused. */
const DATA_ALGORITHMS: ReadonlyMap<string, DataAlgorithm> = new Map([
  ['http://www.w3.org/2001/04/xmlenc#aes128-cbc', { cipher: 'aes-128-cbc', keyLength: 16, gcm: false }],
  ['http://www.w3.org/2001/04/xmlenc#aes192-cbc', { cipher: 'aes-192-cbc', keyLength: 24, gcm: false }],
  ['http://www.w3.org/2001/04/xmlenc#aes256-cbc', { cipher: 'aes-256-cbc', keyLength: 32, gcm: false }],
  ['http://www.w3.org/2009/xmlenc11#aes128-gcm', { cipher: 'aes-128-gcm', keyLength: 16, gcm: true }],
  ['http://www.w3.org/2009/xmlenc11#aes192-gcm', { cipher: 'aes-192-gcm', keyLength: 24, gcm: true }],
  ['http://www.w3.org/2009/xmlenc11#aes256-gcm', { cipher: 'aes-256-gcm', keyLength: 32, gcm: true }],
]);

const RSA_OAEP_MGF1P = 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p';
const RSA_OAEP_11 = 'http://www.w3.org/2009/xmlenc11#rsa-oaep';
const RSA_1_5 = 'http://www.w3.org/2001/04/xmlenc#rsa-1_5';
const SHA1_DIGEST = 'http://www.w3.org/2000/09/xmldsig#sha1';
const MGF1_SHA1 = 'http://www.w3.org/2009/xmlenc11#mgf1sha1';
const MGF_ALGORITHMS: ReadonlyMap<string, string> = new Map(
  ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'].map((hash) => [`http://www.w3.org/2009/xmlenc11#mgf1${hash}`, hash]),
);

/** One way to unwrap the content key: RSA-OAEP with this hash (for both OAEP and MGF1) and label. */
interface KeyTransport {
  readonly cipherValue: Buffer;
  readonly oaepHash: string;
  readonly oaepLabel: Buffer | undefined;
}

const DECRYPTION_FAILED =
  'The encrypted assertion could not be decrypted with this connection’s service provider key. Check that the identity ' +
  'provider encrypts with the certificate currently published in the SP metadata.';

/**
 * Decrypts a saml:EncryptedAssertion (SAML core §2.3.4, XML-Enc 1.1) with the SP's RSA private
 * keys and returns the decrypted saml:Assertion, parsed in its own document under a wrapper that
 * re-declares the namespaces in scope at the EncryptedAssertion (the decrypted XML replaces the
 * encrypted one in place under the XML-Enc decryption rules, so it may use prefixes declared above it).
 *
 * Every failure after the algorithms are known returns the same code and message, whether the
 * key did not unwrap, the CBC padding was wrong or the plaintext was not an Assertion: telling
 * these apart would give an attacker a decryption oracle (Jager & Somorovsky, "How to break XML
 * Encryption", 2011).
 */
export function decryptAssertion(encryptedAssertion: XmlElement, keys: readonly KeyObject[]): SamlResult<XmlElement> {
  const usableKeys = keys.filter((key) => key.type === 'private' && key.asymmetricKeyType === 'rsa');
  if (usableKeys.length === 0) {
    return fail(
      'saml_decryption_failed',
      'The assertion is encrypted, but no service provider decryption key is configured for this connection.',
    );
  }
  const [data, ...extra] = children(encryptedAssertion, NS.xenc, 'EncryptedData');
  if (data === undefined || extra.length > 0)
    return fail('saml_decryption_failed', 'The EncryptedAssertion must contain exactly one EncryptedData.');
  const algorithmUri = algorithmOf(children(data, NS.xenc, 'EncryptionMethod')[0]) ?? '(none)';
  const algorithm = DATA_ALGORITHMS.get(algorithmUri);
  if (algorithm === undefined) return unsupported(`content encryption algorithm ${algorithmUri}`, 'AES-256-GCM or AES-256-CBC');
  const ciphertext = cipherValue(data);
  if (ciphertext === undefined) return fail('saml_decryption_failed', DECRYPTION_FAILED);
  const transports = findEncryptedKeys(encryptedAssertion, data).map(readKeyTransport);
  const usable = transports.filter((t): t is { ok: true; value: KeyTransport } => t.ok).map((t) => t.value);
  const refusal = transports.find((t) => !t.ok);
  if (usable.length === 0)
    return refusal ?? fail('saml_decryption_failed', 'The encrypted assertion carries no EncryptedKey for this service provider.');
  for (const transport of usable) {
    for (const key of usableKeys) {
      const plaintext = decryptContent(unwrapKey(transport, key), ciphertext, algorithm);
      const assertion = plaintext === undefined ? undefined : parseDecrypted(plaintext, encryptedAssertion);
      if (assertion !== undefined) return ok(assertion);
    }
  }
  return fail('saml_decryption_failed', DECRYPTION_FAILED);
}

/**
 * The EncryptedKeys to try: those inside EncryptedData/KeyInfo, those a KeyInfo RetrievalMethod
 * points at (Okta puts the key beside EncryptedData and references it), and otherwise the
 * EncryptedKey siblings SAML core §2.3.4 allows.
 */
function findEncryptedKeys(encryptedAssertion: XmlElement, data: XmlElement): XmlElement[] {
  const siblings = children(encryptedAssertion, NS.xenc, 'EncryptedKey');
  const keyInfo = children(data, NS.ds, 'KeyInfo')[0];
  const found = keyInfo === undefined ? [] : children(keyInfo, NS.xenc, 'EncryptedKey');
  for (const retrieval of keyInfo === undefined ? [] : children(keyInfo, NS.ds, 'RetrievalMethod')) {
    const uri = attr(retrieval, 'URI');
    const target = siblings.find((key) => uri !== undefined && `#${attr(key, 'Id') ?? ''}` === uri);
    if (target !== undefined) found.push(target);
  }
  return found.length > 0 ? found : siblings;
}

/**
 * Reads an EncryptedKey's transport. RSA-OAEP only: rsa-1_5 is a padding oracle (and Node ≥ 20.11
 * refuses it). node:crypto uses one hash for OAEP and MGF1, so combinations that differ are refused
 * rather than hand-rolled. SHA-1 is fine here (OAEP relies on it as a random oracle, not for collision
 * resistance), so `allowSha1` does not apply.
 */
function readKeyTransport(encryptedKey: XmlElement): SamlResult<KeyTransport> {
  const method = children(encryptedKey, NS.xenc, 'EncryptionMethod')[0];
  const uri = method === undefined ? '(none)' : (attr(method, 'Algorithm') ?? '(none)');
  if (method === undefined || (uri !== RSA_OAEP_MGF1P && uri !== RSA_OAEP_11)) {
    return unsupported(
      `key transport algorithm ${uri}${uri === RSA_1_5 ? ' (RSA PKCS#1 v1.5, vulnerable to padding-oracle attacks)' : ''}`,
      'RSA-OAEP',
    );
  }
  // XML-Enc 1.1 §5.5.2: DigestMethod defaults to SHA-1; rsa-oaep-mgf1p fixes MGF1 to SHA-1, xenc11 rsa-oaep reads <MGF>.
  const digestUri = algorithmOf(children(method, NS.ds, 'DigestMethod')[0]) ?? SHA1_DIGEST;
  const mgfUri = uri === RSA_OAEP_MGF1P ? MGF1_SHA1 : (algorithmOf(children(method, NS.xenc11, 'MGF')[0]) ?? MGF1_SHA1);
  const oaepHash = DIGEST_ALGORITHMS.get(digestUri);
  if (oaepHash === undefined || MGF_ALGORITHMS.get(mgfUri) !== oaepHash) {
    return unsupported(
      `RSA-OAEP with digest ${digestUri} and mask generation ${mgfUri}`,
      'RSA-OAEP with the same hash for the digest and MGF1',
    );
  }
  const params = children(method, NS.xenc, 'OAEPparams')[0];
  const cipherBytes = cipherValue(encryptedKey);
  if (cipherBytes === undefined) return fail('saml_decryption_failed', DECRYPTION_FAILED);
  return ok({
    cipherValue: cipherBytes,
    oaepHash,
    oaepLabel: params === undefined ? undefined : Buffer.from(textOf(params).replace(/\s+/g, ''), 'base64'),
  });
}

function unwrapKey(transport: KeyTransport, key: KeyObject): Buffer | undefined {
  try {
    return privateDecrypt(
      {
        key,
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: transport.oaepHash,
        ...(transport.oaepLabel ? { oaepLabel: transport.oaepLabel } : {}),
      },
      transport.cipherValue,
    );
  } catch {
    return undefined;
  }
}

/**
 * XML-Enc 1.1 §5.2. AES-CBC: IV ‖ ciphertext, padded so that the last byte is the pad length and
 * the other pad bytes are arbitrary (not PKCS#7). AES-GCM: IV (96 bits) ‖ ciphertext ‖ tag (128 bits).
 */
function decryptContent(contentKey: Buffer | undefined, ciphertext: Buffer, algorithm: DataAlgorithm): Buffer | undefined {
  if (contentKey === undefined || contentKey.length !== algorithm.keyLength) return undefined;
  try {
    if (algorithm.gcm) {
      if (ciphertext.length < 12 + 16) return undefined;
      const decipher = createDecipheriv(algorithm.cipher as 'aes-256-gcm', contentKey, ciphertext.subarray(0, 12));
      decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
      return Buffer.concat([decipher.update(ciphertext.subarray(12, ciphertext.length - 16)), decipher.final()]);
    }
    if (ciphertext.length < 32 || ciphertext.length % 16 !== 0) return undefined;
    const decipher = createDecipheriv(algorithm.cipher, contentKey, ciphertext.subarray(0, 16)).setAutoPadding(false);
    const padded = Buffer.concat([decipher.update(ciphertext.subarray(16)), decipher.final()]);
    const padLength = padded.at(-1) ?? 0;
    return padLength >= 1 && padLength <= 16 ? padded.subarray(0, padded.length - padLength) : undefined;
  } catch {
    return undefined;
  }
}

function parseDecrypted(plaintext: Buffer, encryptedAssertion: XmlElement): XmlElement | undefined {
  const text = plaintext
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .replace(/^\s*<\?xml[^>]*\?>/, '');
  const declarations = namespacesInScope(encryptedAssertion)
    .map(({ prefix, namespaceURI }) => ` ${prefix === '' ? 'xmlns' : `xmlns:${prefix}`}="${escapeXml(namespaceURI)}"`)
    .join('');
  const parsed = parseXml(`<lanyard-decrypted${declarations}>${text}</lanyard-decrypted>`, plaintext.length + 64 * 1024);
  if (!parsed.ok) return undefined;
  const [assertion, ...others] = childElements(parsed.value.root);
  if (!isElement(assertion, NS.saml, 'Assertion') || others.length > 0 || /\S/.test(directText(parsed.value.root))) return undefined;
  return assertion;
}

function directText(element: XmlElement): string {
  let out = '';
  for (let node = element.firstChild; node !== null; node = node.nextSibling)
    if (node.nodeType === 3 || node.nodeType === 4) out += node.nodeValue;
  return out;
}

function algorithmOf(method: XmlElement | undefined): string | undefined {
  return method === undefined ? undefined : attr(method, 'Algorithm');
}

function cipherValue(parent: XmlElement): Buffer | undefined {
  const cipherData = children(parent, NS.xenc, 'CipherData')[0];
  const value = cipherData === undefined ? undefined : children(cipherData, NS.xenc, 'CipherValue')[0];
  if (value === undefined) return undefined;
  const compact = textOf(value).replace(/\s+/g, '');
  return /^[A-Za-z0-9+/]+={0,2}$/.test(compact) && compact.length % 4 === 0 ? Buffer.from(compact, 'base64') : undefined;
}

function unsupported(what: string, advice: string): SamlResult<never> {
  return fail(
    'saml_unsupported_algorithm',
    `The assertion is encrypted with ${what}, which Lanyard does not accept. Configure the identity provider to use ${advice}.`,
  );
}
