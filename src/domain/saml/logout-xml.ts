// Small writers shared by the LogoutRequest and LogoutResponse builders: message IDs, instants, and
// escaping that keeps every value byte-for-byte what it was once an XML parser reads it back.

const NCNAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * XML 1.0 §2.2 Char, negated: C0 controls other than TAB/LF/CR, lone surrogates, U+FFFE and U+FFFF
 * cannot be written in an XML 1.0 document at all, not even as character references.
 */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** Randomness for message IDs, as `deps.random` provides it. */
export interface MessageIdDeps {
  randomBytes: (size: number) => Uint8Array;
}

/**
 * The given ID, or 160 random bits (SAML core §1.3.4 asks for at least 128) behind an underscore,
 * since an xs:ID may not start with a digit.
 *
 * @throws RangeError when a given ID is not an NCName.
 */
export function messageId(given: string | undefined, deps: MessageIdDeps, what: string): string {
  const id = given ?? `_${Buffer.from(deps.randomBytes(20)).toString('hex')}`;
  if (!NCNAME.test(id)) throw new RangeError(`A ${what} ID must be an NCName (SAML core §1.3.4).`);
  return id;
}

/**
 * An xs:dateTime in UTC with a "Z" and whole seconds (SAML core §1.3.3; some IdPs reject fractions).
 *
 * @throws RangeError for an invalid date.
 */
export function samlInstant(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('A SAML instant must be a valid date.');
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** True when `value` can be carried by an XML 1.0 document. */
export function isXmlText(value: string): boolean {
  return !NOT_XML_CHAR.test(value);
}

/**
 * Escapes text content. CR is written as a reference because a parser turns a literal CR (or CRLF)
 * into LF (XML 1.0 §2.11), which would change a NameID the IdP sent with one.
 */
export function xmlText(value: string): string {
  return value.replace(/[&<>\r]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' })[c] ?? c);
}

/**
 * An attribute ` name="value"`, escaped so that attribute-value normalization (XML 1.0 §3.3.3:
 * TAB, LF and CR become spaces) leaves the value as given.
 */
export function xmlAttribute(name: string, value: string): string {
  const escaped = value.replace(
    /[&<>"\t\n\r]/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' })[c] ?? c,
  );
  return ` ${name}="${escaped}"`;
}
