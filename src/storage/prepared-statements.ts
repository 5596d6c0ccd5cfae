// Server-side prepared statements for the statements every login runs: PostgreSQL parses and
// plans such a statement once per connection instead of on every execution (about a third of its
// CPU per login, bench/README.md).
//
// Opt-in per statement (`prepared(query)` where it is built), never automatic: a statement text
// with a variable shape (an IN list, a SCIM filter) would leave one prepared statement per shape
// in every connection. The names are a bounded set (MAX_NAMES); past it a statement runs unnamed,
// as every other statement does. PgBouncer before 1.21 in transaction mode cannot carry named
// statements: LANYARD_DATABASE_PREPARED_STATEMENTS=false turns them off (README).
import { createQueryId, type CompiledQuery, type Kysely, type PostgresPool, type PostgresPoolClient } from 'kysely';
import type pg from 'pg';
import { writesWatchedTable } from './read-cache.ts';
import type { Database } from './schema.ts';

const MAX_NAMES = 64;
const names = new Map<string, string>();

/** The name `text` runs under when it was marked by `prepared`. */
export function statementName(text: string): string | undefined {
  return names.get(text);
}

/** True for PostgreSQL's refusal of a prepared statement whose plan a schema change made stale (0A000). */
export function isStalePlan(error: unknown): boolean {
  return (error as { code?: string }).code === '0A000' && /cached plan/.test((error as Error).message);
}

/** Compiles `query` and marks its text as one to prepare on each connection that runs it. */
export function prepared<R>(query: { compile(): CompiledQuery<R> }): CompiledQuery<R> {
  const compiled = query.compile();
  if (names.size < MAX_NAMES && !names.has(compiled.sql)) names.set(compiled.sql, `lanyard_${names.size + 1}`);
  return compiled;
}

/** Stands for a value in a statement built once: it must reach the SQL as one whole parameter. */
class Placeholder {
  constructor(readonly name: string) {}
}

/**
 * A statement Kysely builds and compiles once, with placeholders for `values`, then runs with the
 * values of each call (and prepared, as `prepared`): on the login's hot path building a query cost
 * more than PostgreSQL executing it. `build` must give the same SQL whatever the values (choose a
 * variant outside it) and send each value as one parameter: a value it inspects, formats or embeds
 * fails at the first call. Not for writes of the read cache's tables, whose invalidation runs
 * when a query is compiled.
 */
export function preparedStatement<V extends Record<string, unknown>, R>(
  build: (db: Kysely<Database>, values: V) => { compile(): CompiledQuery<R> },
): (db: Kysely<Database>, values: V) => CompiledQuery<R> {
  let template: { compiled: CompiledQuery<R>; slots: readonly (Placeholder | { constant: unknown })[] } | undefined;
  return (db, values) => {
    template ??= compileTemplate(db, build);
    const parameters = template.slots.map((slot) => (slot instanceof Placeholder ? values[slot.name] : slot.constant));
    return { ...template.compiled, parameters, queryId: createQueryId() };
  };
}

function compileTemplate<R>(
  db: Kysely<Database>,
  build: (db: Kysely<Database>, values: never) => { compile(): CompiledQuery<R> },
): { compiled: CompiledQuery<R>; slots: readonly (Placeholder | { constant: unknown })[] } {
  const placeholders = new Map<string, Placeholder>();
  const values = new Proxy({} as never, {
    get: (_, name) => {
      if (typeof name !== 'string') throw new Error('a prepared statement reads its values by name');
      let placeholder = placeholders.get(name);
      if (placeholder === undefined) placeholders.set(name, (placeholder = new Placeholder(name)));
      return placeholder;
    },
  });
  const compiled = prepared(build(db, values));
  if (writesWatchedTable(compiled.query)) throw new Error('a prepared statement may not write a table the read cache holds');
  const slots = compiled.parameters.map((parameter) => {
    if (parameter instanceof Placeholder) return parameter;
    if (parameter !== null && typeof parameter === 'object') throw new Error('a prepared statement value is not one whole parameter');
    return { constant: parameter };
  });
  const unused = [...placeholders.values()].filter((placeholder) => !slots.includes(placeholder));
  if (unused.length > 0) throw new Error(`prepared statement values not sent as parameters: ${unused.map((p) => p.name).join(', ')}`);
  return { compiled, slots };
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
          if (!isStalePlan(error)) throw error;
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
