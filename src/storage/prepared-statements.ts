// Server-side prepared statements for the statements every login runs: PostgreSQL parses and
// plans such a statement once per connection instead of on every execution (about a third of its
// CPU per login, bench/README.md).
//
// Opt-in per statement (`prepared(query)` where it is built), never automatic: a statement text
// with a variable shape (an IN list, a SCIM filter) would leave one prepared statement per shape
// in every connection. The names are a bounded set (MAX_NAMES); past it a statement runs unnamed,
// as every other statement does. PgBouncer before 1.21 in transaction mode cannot carry named
// statements: LANYARD_DATABASE_PREPARED_STATEMENTS=false turns them off (README).
import type { CompiledQuery, PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

const MAX_NAMES = 64;
const names = new Map<string, string>();

/** Compiles `query` and marks its text as one to prepare on each connection that runs it. */
export function prepared<R>(query: { compile(): CompiledQuery<R> }): CompiledQuery<R> {
  const compiled = query.compile();
  if (names.size < MAX_NAMES && !names.has(compiled.sql)) names.set(compiled.sql, `lanyard_${names.size + 1}`);
  return compiled;
}

/** How many statement texts are marked (tests). */
export function preparedStatementCount(): number {
  return names.size;
}

/** pg's record of what a connection has prepared: an internal field, read and cleared only after a stale plan. */
interface PgConnectionInternals {
  connection?: { parsedStatements?: Record<string, string> };
}

/**
 * `pool` handing out clients that run every marked statement by its name. A migration by another
 * instance that changes a table's columns leaves a prepared `select *` stale (PostgreSQL refuses it:
 * "cached plan must not change result type"); that statement is then prepared again, once.
 */
export function preparingPool(pool: pg.Pool): PostgresPool {
  return {
    connect: async () => {
      const client = await pool.connect();
      const query = async (text: unknown, values?: readonly unknown[]) => {
        const name = typeof text === 'string' ? names.get(text) : undefined;
        if (name === undefined) return client.query(text as string, values as unknown[]);
        const config = { name, text: text as string, values: values as unknown[] };
        try {
          return await client.query(config);
        } catch (error) {
          if ((error as { code?: string }).code !== '0A000' || !/cached plan/.test((error as Error).message)) throw error;
          await client.query(`deallocate "${name}"`);
          delete (client as PgConnectionInternals).connection?.parsedStatements?.[name];
          return client.query(config);
        }
      };
      return { query, release: () => client.release() } as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}
