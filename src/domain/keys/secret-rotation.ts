import { sql, type Kysely } from 'kysely';
import { SealError, type Sealer } from '../../crypto/seal.ts';
import type { Database } from '../../storage/schema.ts';

/** What one rotation did to one sealed column. */
export interface ColumnRotation {
  table: string;
  column: string;
  /** Values re-sealed under the current key by this run. */
  resealed: number;
  /** Values that were under the current key already. */
  current: number;
  /** Ids of rows whose value no key could open (an unknown key, or tampered); left as they were. */
  failed: string[];
}

const PAGE = 500;

/**
 * Re-seals every sealed value under the sealer's current key, so older keys can then be dropped
 * from LANYARD_PREVIOUS_SECRET_KEYS. Every column named `sealed_*` of a table with an `id` column
 * is found through the catalogue, so a future sealed column is rotated without changes here; its
 * values must be sealed with the context `<table>:<id>`, as connections and deployment_keys are.
 *
 * Idempotent and resumable: each value is replaced on its own, only if unchanged since it was
 * read (a concurrent write seals under the current key anyway), so a second run re-seals nothing.
 */
export async function rotateSealedSecrets(db: Kysely<Database>, sealer: Sealer): Promise<ColumnRotation[]> {
  const columns = await sql<{ table_name: string; column_name: string }>`
    select c.table_name, c.column_name from information_schema.columns c
    where c.table_schema = current_schema() and c.column_name like 'sealed\\_%'
      and exists (select 1 from information_schema.columns i
                  where i.table_schema = c.table_schema and i.table_name = c.table_name and i.column_name = 'id')
    order by c.table_name, c.column_name`.execute(db);
  const report: ColumnRotation[] = [];
  for (const { table_name: table, column_name: column } of columns.rows) report.push(await rotateColumn(db, sealer, table, column));
  return report;
}

async function rotateColumn(db: Kysely<Database>, sealer: Sealer, table: string, column: string): Promise<ColumnRotation> {
  const result: ColumnRotation = { table, column, resealed: 0, current: 0, failed: [] };
  let after = '';
  for (;;) {
    const { rows } = await sql<{ id: string; value: string }>`
      select id, ${sql.ref(column)} as value from ${sql.table(table)}
      where ${sql.ref(column)} is not null and id > ${after} order by id limit ${PAGE}`.execute(db);
    for (const row of rows) {
      if (sealer.isCurrent(row.value)) {
        result.current++;
        continue;
      }
      const context = `${table}:${row.id}`;
      let resealed: string;
      try {
        resealed = sealer.seal(sealer.open(row.value, context), context);
      } catch (error) {
        if (!(error instanceof SealError)) throw error;
        result.failed.push(row.id);
        continue;
      }
      const updated =
        await sql`update ${sql.table(table)} set ${sql.ref(column)} = ${resealed} where id = ${row.id} and ${sql.ref(column)} = ${row.value}`.execute(
          db,
        );
      if (Number(updated.numAffectedRows ?? 0) > 0) result.resealed++;
      else result.current++;
    }
    const last = rows.at(-1);
    if (rows.length < PAGE || last === undefined) return result;
    after = last.id;
  }
}
