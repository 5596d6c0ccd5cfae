import { AppError } from '../errors.ts';

/** A 400 naming one field of the request body by its dotted path (`saml.ssoUrl`). */
export function fieldError(field: string, message: string, cause?: unknown): AppError {
  return new AppError('validation_failed', `${field} ${message}`, [{ field, message }], cause === undefined ? undefined : { cause });
}

/** True for an absolute http: or https: URL. */
export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * Refuses anything but an absolute http(s) URL: browsers are sent to these addresses and Lanyard
 * fetches some of them, so `javascript:`, `data:` or `file:` must never get in.
 */
export function requireHttpUrl(value: string, field: string): string {
  if (!isHttpUrl(value)) throw fieldError(field, 'must be an http(s) URL');
  return value;
}
