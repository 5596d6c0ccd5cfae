import type { Kysely } from 'kysely';
import type { ConnectionMetadataRefreshRow, Database } from './schema.ts';

/** What a finished refresh records on its row; `failures` is the new count of failures in a row. */
export interface RefreshRecord {
  nextRunAt: Date;
  failures: number;
  etag: string | null;
  lastModified: string | null;
  at: Date;
  outcome: string;
  message: string | null;
}

/**
 * Keeps a connection's refresh row in step with its settings, in the transaction that writes them:
 * a metadata URL gets a row (first due at `firstRunAt`), a new URL starts its schedule and its
 * validators afresh, and no URL removes the row.
 */
export async function scheduleMetadataRefresh(
  db: Kysely<Database>,
  connectionId: string,
  metadataUrl: string | null,
  firstRunAt: Date,
): Promise<void> {
  if (metadataUrl === null) {
    await db.deleteFrom('connection_metadata_refreshes').where('connection_id', '=', connectionId).execute();
    return;
  }
  await db
    .insertInto('connection_metadata_refreshes')
    .values({ connection_id: connectionId, metadata_url: metadataUrl, next_run_at: firstRunAt })
    .onConflict((oc) =>
      oc
        .column('connection_id')
        .doUpdateSet({ metadata_url: metadataUrl, next_run_at: firstRunAt, failures: 0, etag: null, last_modified: null })
        .where('connection_metadata_refreshes.metadata_url', '<>', metadataUrl),
    )
    .execute();
}

/**
 * Claims up to `limit` due refreshes (FOR UPDATE SKIP LOCKED, so instances never take the same
 * row): each moves to the end of the lease, so one whose instance died comes back by itself.
 */
export async function claimDueRefreshes(
  db: Kysely<Database>,
  claim: { now: Date; leaseUntil: Date; token: string; limit: number },
): Promise<ConnectionMetadataRefreshRow[]> {
  return db
    .updateTable('connection_metadata_refreshes')
    .set({ next_run_at: claim.leaseUntil, claim_token: claim.token })
    .where('connection_id', 'in', (eb) =>
      eb
        .selectFrom('connection_metadata_refreshes')
        .select('connection_id')
        .where('next_run_at', '<=', claim.now)
        .orderBy('next_run_at')
        .limit(claim.limit)
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .execute();
}

/** Claims one connection's refresh now, unless another claim's lease is still running. */
export async function claimRefreshNow(
  db: Kysely<Database>,
  claim: { connectionId: string; now: Date; leaseUntil: Date; token: string },
): Promise<ConnectionMetadataRefreshRow | undefined> {
  return db
    .updateTable('connection_metadata_refreshes')
    .set({ next_run_at: claim.leaseUntil, claim_token: claim.token })
    .where('connection_id', '=', (eb) =>
      eb
        .selectFrom('connection_metadata_refreshes')
        .select('connection_id')
        .where('connection_id', '=', claim.connectionId)
        .where((w) => w.or([w('claim_token', 'is', null), w('next_run_at', '<=', claim.now)]))
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .executeTakeFirst();
}

/** Records a claimed refresh's outcome; false when the claim was lost (its lease ran out and another took it). */
export async function finishRefresh(db: Kysely<Database>, connectionId: string, token: string, record: RefreshRecord): Promise<boolean> {
  const updated = await db
    .updateTable('connection_metadata_refreshes')
    .set({
      next_run_at: record.nextRunAt,
      claim_token: null,
      failures: record.failures,
      etag: record.etag,
      last_modified: record.lastModified,
      last_at: record.at,
      last_outcome: record.outcome,
      last_message: record.message,
    })
    .where('connection_id', '=', connectionId)
    .where('claim_token', '=', token)
    .executeTakeFirst();
  return updated.numUpdatedRows > 0n;
}

/** The refresh rows of these connections (for their answers). */
export async function findRefreshes(db: Kysely<Database>, connectionIds: readonly string[]): Promise<ConnectionMetadataRefreshRow[]> {
  if (connectionIds.length === 0) return [];
  return db
    .selectFrom('connection_metadata_refreshes')
    .selectAll()
    .where('connection_id', 'in', [...connectionIds])
    .execute();
}
