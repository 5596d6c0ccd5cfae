import type { Kysely } from 'kysely';
import { SealError, type Sealer } from '../../crypto/seal.ts';
import type { Database } from '../../storage/schema.ts';
import { listSealedColumns, replaceSealedValue, sealedValues, type SealedColumn } from '../../storage/sealed-columns.ts';

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
 * values must be sealed with the context `<table>:<id>`, as connections, deployment_keys and
 * webhook_endpoints (sealed_secret, sealed_previous_secret) are.
 *
 * Idempotent and resumable: each value is replaced on its own, only if unchanged since it was
 * read (a concurrent write seals under the current key anyway), so a second run re-seals nothing.
 */
export async function rotateSealedSecrets(db: Kysely<Database>, sealer: Sealer): Promise<ColumnRotation[]> {
  const report: ColumnRotation[] = [];
  for (const column of await listSealedColumns(db)) report.push(await rotateColumn(db, sealer, column));
  return report;
}

async function rotateColumn(db: Kysely<Database>, sealer: Sealer, at: SealedColumn): Promise<ColumnRotation> {
  const result: ColumnRotation = { table: at.table, column: at.column, resealed: 0, current: 0, failed: [] };
  let after = '';
  for (;;) {
    const rows = await sealedValues(db, at, after, PAGE);
    for (const row of rows) {
      if (sealer.isCurrent(row.value)) {
        result.current++;
        continue;
      }
      const context = `${at.table}:${row.id}`;
      let resealed: string;
      try {
        resealed = sealer.seal(sealer.open(row.value, context), context);
      } catch (error) {
        if (!(error instanceof SealError)) throw error;
        result.failed.push(row.id);
        continue;
      }
      if (await replaceSealedValue(db, at, row.id, row.value, resealed)) result.resealed++;
      else result.current++;
    }
    const last = rows.at(-1);
    if (rows.length < PAGE || last === undefined) return result;
    after = last.id;
  }
}
