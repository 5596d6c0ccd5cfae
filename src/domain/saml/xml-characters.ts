/**
 * The character-level rules of the XML parser (xml-parser.ts): which characters a document may
 * contain, its line ends, references, and attribute-value normalization; and the error every rule
 * of the parser throws.
 */

/** Why a document is not (namespace-)well-formed; parseXml reports it as `xml_malformed`. */
export class XmlSyntaxError extends Error {}

export function fail(message: string): never {
  throw new XmlSyntaxError(message);
}

/** XML 1.0 §2.2 [2] Char, negated: one native pass refuses every character no production allows. */
const NOT_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
/** XML 1.0 [66] CharRef and the predefined entities (§4.6); any other reference names an undeclared entity. */
const REFERENCE_Y = /&(?:#x([0-9a-fA-F]+)|#([0-9]+)|(amp|lt|gt|quot|apos));/y;
const PREDEFINED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const LINE_ENDS = /[\r\u0085\u2028\u2029]/;
/** Whatever checkedCharacters refuses or rewrites: U+FFFD, a line end other than LF, or a character outside the BMP's Chars. */
const UNUSUAL = /[^\t\n\x20-\x84\x86-\u2027\u202A-\uD7FF\uE000-\uFFFC]/;
const ATTRIBUTE_SPECIALS = /[\t\n\r&]/;

/**
 * `source` with xmldom's line ends, after refusing U+FFFD (as xmldom did) and any character that is
 * not an XML Char. One fast pass (no `u` flag) over the usual document; the exact checks only when
 * it finds something.
 */
export function checkedCharacters(source: string): string {
  if (!UNUSUAL.test(source)) return source;
  if (source.includes('\uFFFD')) fail('it contains U+FFFD, the mark of an encoding error');
  const text = LINE_ENDS.test(source) ? normalizeLineEnds(source) : source;
  if (NOT_CHAR.test(text)) fail('it contains a character that is not an XML Char (XML 1.0 §2.2)');
  return text;
}

/** xmldom's line-end normalization: XML 1.0 §2.11 (CR LF and CR to LF) plus XML 1.1's NEL, LS and PS. */
function normalizeLineEnds(source: string): string {
  return source.replace(/\r[\n\u0085]/g, '\n').replace(/[\r\u0085\u2028\u2029]/g, '\n');
}

/**
 * XML 1.0 §3.3.3 for CDATA attributes (no DTD declares any other type): each literal tab, line feed
 * or carriage return becomes a space, then references are replaced, so `&#10;` stays a line feed.
 */
export function attributeValue(raw: string): string {
  if (!ATTRIBUTE_SPECIALS.test(raw)) return raw;
  const spaced = raw.replace(/[\t\n\r]/g, ' ');
  return spaced.includes('&') ? decodeReferences(spaced) : spaced;
}

/** Replaces character references and the predefined entities; any other `&` is refused (XML 1.0 §4.1, WFC: Entity Declared, WFC: Legal Character). */
export function decodeReferences(data: string): string {
  let out = '';
  let from = 0;
  for (let amp = data.indexOf('&'); amp >= 0; amp = data.indexOf('&', from)) {
    REFERENCE_Y.lastIndex = amp;
    const match = REFERENCE_Y.exec(data);
    if (match === null) fail(`"${data.slice(amp, amp + 12)}" is neither a character reference nor a predefined entity`);
    out += data.slice(from, amp);
    const [, hex, decimal, name] = match;
    if (name !== undefined) out += PREDEFINED[name] ?? '';
    else {
      const code = hex !== undefined ? Number.parseInt(hex, 16) : Number.parseInt(decimal ?? '', 10);
      if (!isXmlChar(code)) fail(`the character reference ${match[0]} is not an XML Char`);
      out += String.fromCodePoint(code);
    }
    from = REFERENCE_Y.lastIndex;
  }
  return out + data.slice(from);
}

/** XML 1.0 [2] Char. */
function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}
