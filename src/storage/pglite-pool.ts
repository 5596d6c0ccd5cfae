import type { PGlite } from '@electric-sql/pglite';

/**
 * Presents an embedded PGlite database as the small slice of a `pg` pool that Kysely's
 * PostgresDialect uses, so both backends share one dialect, one query compiler and one set of
 * migrations. PGlite is a single connection: `connect()` hands it out to one holder at a time, so
 * a transaction's statements never interleave with another request's.
 */
export function pglitePool(pglite: PGlite) {
  let tail: Promise<void> = Promise.resolve();
  const client = {
    async query(sql: string, parameters: readonly unknown[]) {
      const result = await pglite.query<Record<string, unknown>>(sql, parameters as unknown[]);
      // pg reports the statement's verb and row count; Kysely reads them for numAffectedRows.
      const command = /^\s*(insert|update|delete|merge)\b/i.exec(sql)?.[1]?.toUpperCase() ?? 'SELECT';
      return { command, rowCount: result.affectedRows ?? result.rows.length, rows: result.rows };
    },
    release: () => {},
  };
  return {
    async connect() {
      let release!: () => void;
      const previous = tail;
      tail = new Promise<void>((resolve) => (release = resolve));
      await previous;
      return { ...client, release };
    },
    async end() {
      await tail;
      await pglite.close();
    },
  };
}
