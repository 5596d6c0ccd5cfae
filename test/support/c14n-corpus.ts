/**
 * The documents the canonicalization differential tests run over: every parsable fixture of the
 * shared SAML conformance corpus (../shared/conformance/saml, see its README), plus, for each
 * encrypted fixture whose key is at hand, the decrypted assertion in the wrapper document
 * decrypt.ts puts it in (its signature is only visible there).
 */
import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decryptAssertion } from '../../src/domain/saml/decrypt.ts';
import { descendants, NS, parseXml } from '../../src/domain/saml/xml.ts';
import type { XmlElement } from '../../src/domain/saml/xml-tree.ts';
import { serializeXml } from './xmldom.ts';

/** One document to canonicalize, with the IdP certificate that signed it (for xmlsec1). */
export interface CorpusDocument {
  readonly id: string;
  readonly xml: string;
  readonly certFile: string;
}

/** The manifest fields every corpus reader uses (../shared/conformance/saml/README.md). */
export interface ManifestEntry {
  readonly id: string;
  readonly file: string;
  readonly encoding: 'xml' | 'base64';
  readonly cert_file: string;
  readonly sp_key_file: string | null;
}

export const corpusDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'conformance', 'saml');

/** True when ../shared/conformance/saml is there (tests skip loudly, or fail in CI, when it is not). */
export function corpusPresent(): boolean {
  return existsSync(join(corpusDir, 'manifest.json'));
}

/** README: base64 fixtures are what arrives in the form field; strip whitespace, decode. A UTF-8 BOM may lead (kept). */
export function readFixture(entry: Pick<ManifestEntry, 'file' | 'encoding'>): string {
  const raw = readFileSync(join(corpusDir, entry.file));
  const bytes = entry.encoding === 'base64' ? Buffer.from(raw.toString('latin1').replace(/\s+/g, ''), 'base64') : raw;
  return bytes.toString('utf8');
}

/** The parsable corpus documents (the 3 malformed-XML fixtures are not) and the decrypted assertions. */
export function loadCorpusDocuments(): { documents: CorpusDocument[]; unparsable: string[] } {
  const manifest = JSON.parse(readFileSync(join(corpusDir, 'manifest.json'), 'utf8')) as ManifestEntry[];
  const documents: CorpusDocument[] = [];
  const unparsable: string[] = [];
  for (const entry of manifest) {
    const xml = readFixture(entry).replace(/^\uFEFF/, '');
    const parsed = parseXml(xml);
    if (!parsed.ok) {
      unparsable.push(entry.id);
      continue;
    }
    documents.push({ id: entry.id, xml, certFile: join(corpusDir, entry.cert_file) });
    if (entry.sp_key_file !== null) documents.push(...decryptedDocuments(entry, parsed.value.root));
  }
  return { documents, unparsable };
}

function decryptedDocuments(entry: ManifestEntry, root: XmlElement): CorpusDocument[] {
  const key = createPrivateKey(readFileSync(join(corpusDir, entry.sp_key_file!), 'utf8'));
  const out: CorpusDocument[] = [];
  for (const element of descendants(root)) {
    if (element.namespaceURI !== NS.saml || element.localName !== 'EncryptedAssertion') continue;
    const decrypted = decryptAssertion(element, [key]);
    // Fixtures whose decryption is meant to fail (decryption-failure) simply add nothing.
    if (!decrypted.ok) continue;
    const xml = serializeXml(decrypted.value.ownerDocument);
    out.push({ id: `${entry.id} (decrypted)`, xml, certFile: join(corpusDir, entry.cert_file) });
  }
  return out;
}
