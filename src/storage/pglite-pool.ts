import { parse, protocol, type PGlite } from '@electric-sql/pglite';
import { isStalePlan, statementName } from './prepared-statements.ts';

type Messages = Parameters<typeof parse.parseResults>[0];

/**
 * Presents an embedded PGlite database as the small slice of a `pg` pool that Kysely's
 * PostgresDialect uses, so both backends share one dialect, one query compiler and one set of
 * migrations. PGlite is a single connection: `connect()` hands it out to one holder at a time, so
 * a transaction's statements never interleave with another request's.
 *
 * A statement marked by `prepared` (the login's) runs as a named prepared statement, parsed and
 * planned once, and sent as one protocol message (bind, describe, execute, sync): PGlite's own
 * `query` sends every statement unnamed, in six calls into WebAssembly, and parses and plans it
 * each time, which made PGlite most of an ACS post (bench/README.md).
 */
export function pglitePool(pglite: PGlite) {
  let tail: Promise<void> = Promise.resolve();
  /** The parameter types of each statement prepared on this database, by name. */
  const preparedTypes = new Map<string, readonly number[]>();

  const run = async (message: Uint8Array): Promise<Messages> => (await pglite.execProtocol(message)).messages;

  const prepare = async (name: string, text: string): Promise<readonly number[]> => {
    const { serialize } = protocol;
    const messages = await run(concat([serialize.parse({ name, text }), serialize.describe({ type: 'S', name }), serialize.sync()]));
    const types = parse.parseDescribeStatementResults(messages);
    preparedTypes.set(name, types);
    return types;
  };

  const runPrepared = async (name: string, text: string, parameters: readonly unknown[]): Promise<Messages> => {
    const types = preparedTypes.get(name) ?? (await prepare(name, text));
    // As PGlite's own query does: by the parameter's type, else as text.
    const values = parameters.map((value, i) => {
      if (value === null || value === undefined) return null;
      const serializer = pglite.serializers[types[i] ?? 0];
      return serializer ? serializer(value) : asText(value);
    });
    const { serialize } = protocol;
    return run(
      concat([serialize.bind({ statement: name, values }), serialize.describe({ type: 'P' }), serialize.execute({}), serialize.sync()]),
    );
  };

  const client = {
    async query(sql: string, parameters: readonly unknown[]) {
      const name = statementName(sql);
      if (name === undefined) {
        const result = await pglite.query<Record<string, unknown>>(sql, parameters as unknown[]);
        return { command: commandOf(sql), rowCount: result.affectedRows ?? result.rows.length, rows: result.rows };
      }
      let messages: Messages;
      try {
        messages = await runPrepared(name, sql, parameters);
      } catch (error) {
        // A migration changed a table under the statement: prepare it again, once (as on PostgreSQL).
        if (!isStalePlan(error)) throw error;
        preparedTypes.delete(name);
        await pglite.exec(`deallocate "${name}"`);
        messages = await runPrepared(name, sql, parameters);
      }
      // One statement, one result (parseResults gives an empty one for a statement with none).
      const [result] = parse.parseResults(messages, pglite.parsers);
      const rows = (result?.rows ?? []) as Record<string, unknown>[];
      return { command: commandOf(sql), rowCount: result?.affectedRows ?? rows.length, rows };
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

/** pg reports the statement's verb and row count; Kysely reads them for numAffectedRows. */
function commandOf(sql: string): string {
  return /^\s*(insert|update|delete|merge)\b/i.exec(sql)?.[1]?.toUpperCase() ?? 'SELECT';
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return value.toString();
  return JSON.stringify(value);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
