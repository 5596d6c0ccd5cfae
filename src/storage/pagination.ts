import { AppError } from '../domain/errors.ts';

/** A page of results and the opaque cursor of the next page (null on the last page). */
export interface Page<T> {
  readonly data: T[];
  readonly nextCursor: string | null;
}

/** Cursors are the last id seen, wrapped so callers treat them as opaque. */
function encodeCursor(lastId: string): string {
  return Buffer.from(`v1:${lastId}`, 'utf8').toString('base64url');
}

/** The id a cursor stands for; a cursor this API did not make is a 400. */
export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^v1:([a-z]+_[0-9A-Z]{26})$/.exec(text);
  if (match === null)
    throw new AppError('invalid_cursor', 'cursor is not one this API returned', [{ field: 'cursor', message: 'unknown cursor' }]);
  return match[1];
}

/** Cuts `limit + 1` rows fetched in id order into a page. */
export function toPage<Row extends { id: string }, T>(rows: Row[], limit: number, map: (row: Row) => T): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept.at(-1);
  return { data: kept.map(map), nextCursor: more && last !== undefined ? encodeCursor(last.id) : null };
}
