import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';

/** A column holding sealed values, of a table with an `id` column. */
export interface SealedColumn {
  table: string;
  column: string;
}

/** Every `sealed_*` column of a table with an `id`, found through the information schema, so a new one needs no change here. */
export async function listSealedColumns(db: Kysely<Database>): Promise<SealedColumn[]> {
  const columns = await sql<{ table_name: string; column_name: string }>`
    select c.table_name, c.column_name from information_schema.columns c
    where c.table_schema = current_schema() and c.column_name like 'sealed\\_%'
      and exists (select 1 from information_schema.columns i
                  where i.table_schema = c.table_schema and i.table_name = c.table_name and i.column_name = 'id')
    order by c.table_name, c.column_name`.execute(db);
  return columns.rows.map((row) => ({ table: row.table_name, column: row.column_name }));
}

/** Up to `limit` non-null values of the column, of rows after `afterId`, in id order. */
export async function sealedValues(
  db: Kysely<Database>,
  at: SealedColumn,
  afterId: string,
  limit: number,
): Promise<{ id: string; value: string }[]> {
  const { rows } = await sql<{ id: string; value: string }>`
    select id, ${sql.ref(at.column)} as value from ${sql.table(at.table)}
    where ${sql.ref(at.column)} is not null and id > ${afterId} order by id limit ${limit}`.execute(db);
  return rows;
}

/** Replaces one sealed value, only if it is still `seen`; false when another write came first. */
export async function replaceSealedValue(db: Kysely<Database>, at: SealedColumn, id: string, seen: string, next: string): Promise<boolean> {
  const updated = await sql`update ${sql.table(at.table)} set ${sql.ref(at.column)} = ${next}
    where id = ${id} and ${sql.ref(at.column)} = ${seen}`.execute(db);
  return Number(updated.numAffectedRows ?? 0) > 0;
}
