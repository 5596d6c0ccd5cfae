/**
 * The character-level rules of Canonical XML 1.0, shared by both canonicalizations in c14n.ts:
 * how names are ordered (§2.2) and which characters text and attribute values escape (§2.3).
 */

/**
 * Lexicographic order of UCS code points (C14N 1.0 §2.2), which differs from JavaScript's UTF-16
 * code unit order only when a surrogate pair meets a code unit from U+E000 to U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (U+D800..U+DFFF) encode code points above U+FFFF: move them above U+E000..U+FFFF.
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}

const TEXT_SPECIAL = /[&<>\r]/;
const TEXT_SPECIALS = /[&<>\r]/g;
const ATTRIBUTE_SPECIAL = /[&<"\t\n\r]/;
const ATTRIBUTE_SPECIALS = /[&<"\t\n\r]/g;
const REPLACEMENTS: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\t': '&#x9;',
  '\n': '&#xA;',
  '\r': '&#xD;',
};
const replace = (character: string): string => REPLACEMENTS[character] ?? character;

/** C14N 1.0 §2.3 Text Nodes: `&`, `<`, `>` and carriage return become references. */
export function escapeText(text: string): string {
  return TEXT_SPECIAL.test(text) ? text.replace(TEXT_SPECIALS, replace) : text;
}

/** C14N 1.0 §2.3 Attribute Nodes: `&`, `<`, `"`, tab, line feed and carriage return become references. */
export function escapeAttribute(value: string): string {
  return ATTRIBUTE_SPECIAL.test(value) ? value.replace(ATTRIBUTE_SPECIALS, replace) : value;
}
