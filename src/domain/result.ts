/**
 * The one result recipe: a function that can fail in an expected way returns a Result instead of
 * throwing, and the caller must look at `ok` before it can read the value. Unexpected failures
 * (bugs, a database that went away) still throw and become a logged 500 in one place.
 */
export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

/** A successful result. */
export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

/** A failed result. */
export function err<E>(error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}
