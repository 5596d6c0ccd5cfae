import type { RandomBytes } from '../../crypto/tokens.ts';

/** The shortest wait between two refreshes of one connection, whatever a Cache-Control max-age says. */
const MIN_REFRESH_SECONDS = 300;
/** The first retry after a failure; each further failure doubles it, up to the refresh interval. */
const FIRST_RETRY_SECONDS = 60;

/**
 * `seconds` from `now`, give or take 10%, so that connections saved together (an import, a restart
 * after an outage) do not all fetch their IdPs at the same instant ever after.
 */
export function jittered(now: Date, seconds: number, random: RandomBytes): Date {
  const unit = random(4).readUInt32BE(0) / 0x1_0000_0000; // [0, 1)
  return new Date(now.getTime() + seconds * 1000 * (0.9 + 0.2 * unit));
}

/**
 * When to refresh after a success: the configured interval, or sooner when the server says
 * (Cache-Control max-age, RFC 9111 §5.2.2.1) that its document goes stale sooner, but not more
 * often than every 5 minutes. A longer max-age does not delay the refresh: a rotated key must be
 * seen within the interval. The validators (ETag, Last-Modified) make most refreshes a 304.
 */
export function nextRefreshSeconds(intervalSeconds: number, cacheControl: string | undefined): number {
  const maxAge = /(?:^|,)\s*(?:s-maxage|max-age)\s*=\s*"?(\d+)"?/i.exec(cacheControl ?? '')?.[1];
  if (maxAge === undefined) return intervalSeconds;
  return Math.min(intervalSeconds, Math.max(MIN_REFRESH_SECONDS, Number(maxAge)));
}

/** The wait before retrying after `failures` failures in a row: 1, 2, 4 … minutes, at most the interval. */
export function retrySeconds(intervalSeconds: number, failures: number): number {
  return Math.min(intervalSeconds, FIRST_RETRY_SECONDS * 2 ** Math.min(Math.max(failures - 1, 0), 20));
}
