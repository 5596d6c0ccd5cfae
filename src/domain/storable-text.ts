// PostgreSQL's text and jsonb cannot hold U+0000 (errors 22021 and 22P05), and an unpaired UTF-16
// surrogate is either refused (jsonb, 22P02) or silently replaced when the driver encodes UTF-8:
// such text is refused before any query, or made storable where it is only recorded.

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when `text` can be stored as PostgreSQL text and jsonb: no NUL, no unpaired UTF-16 surrogate. */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && !LONE_SURROGATE.test(text);
}

/** `text` with every NUL and unpaired surrogate replaced by U+FFFD, for recording what a client sent. */
export function toStorableText(text: string): string {
  return text.replaceAll('\u0000', '\ufffd').replace(new RegExp(LONE_SURROGATE.source, 'g'), '\ufffd');
}
