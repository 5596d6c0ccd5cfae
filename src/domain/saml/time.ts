const DATE_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * Parses an xs:dateTime as SAML uses it (SAML core §1.3.3: UTC, no finer than milliseconds).
 * A value without a zone is read as UTC, which is what the spec says it means; reading it in the
 * server's local zone would make the result depend on the host. Extra fraction digits are
 * truncated to milliseconds. Returns undefined for anything else.
 */
export function parseInstant(value: string): Date | undefined {
  const match = DATE_TIME.exec(value.trim());
  if (match === null) return undefined;
  const [, main, fraction, zone] = match;
  const millis = (fraction ?? '').padEnd(3, '0').slice(0, 3);
  const time = Date.parse(`${main}.${millis}${zone ?? 'Z'}`);
  return Number.isNaN(time) ? undefined : new Date(time);
}

/** The instant as ISO text for messages (e.g. "2024-05-20T21:11:42.468Z"). */
export function formatInstant(date: Date): string {
  return date.toISOString();
}
