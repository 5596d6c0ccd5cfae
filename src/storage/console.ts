import type { Insertable, Kysely } from 'kysely';
import type { ConsoleLinksTable, ConsoleSessionRow, ConsoleSessionsTable, Database } from './schema.ts';

export async function insertConsoleLink(db: Kysely<Database>, row: Insertable<ConsoleLinksTable>): Promise<void> {
  await db.insertInto('console_links').values(row).execute();
}

/**
 * Marks the unused, unexpired link with this token hash as used and returns its id; undefined when
 * there is none. One UPDATE, so two browsers racing with the same link cannot both win.
 */
export async function useConsoleLink(db: Kysely<Database>, tokenHash: string, now: Date): Promise<string | undefined> {
  const row = await db
    .updateTable('console_links')
    .set({ used_at: now })
    .where('token_hash', '=', tokenHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', now)
    .returning('id')
    .executeTakeFirst();
  return row?.id;
}

export async function insertConsoleSession(db: Kysely<Database>, row: Insertable<ConsoleSessionsTable>): Promise<void> {
  await db.insertInto('console_sessions').values(row).execute();
  // Sessions end within hours; drop those ended over a day ago while here instead of running a sweeper.
  await db
    .deleteFrom('console_sessions')
    .where('expires_at', '<', new Date(row.created_at.getTime() - 86_400_000))
    .execute();
}

/** The live session with this secret hash: not ended, before its absolute end, seen since `idleSince`. */
export async function findLiveConsoleSession(
  db: Kysely<Database>,
  secretHash: string,
  now: Date,
  idleSince: Date,
): Promise<ConsoleSessionRow | undefined> {
  return db
    .selectFrom('console_sessions')
    .selectAll()
    .where('secret_hash', '=', secretHash)
    .where('ended_at', 'is', null)
    .where('expires_at', '>', now)
    .where('last_seen_at', '>', idleSince)
    .executeTakeFirst();
}

export async function touchConsoleSession(db: Kysely<Database>, id: string, now: Date): Promise<void> {
  await db.updateTable('console_sessions').set({ last_seen_at: now }).where('id', '=', id).execute();
}

export async function endConsoleSession(db: Kysely<Database>, id: string, now: Date): Promise<void> {
  await db.updateTable('console_sessions').set({ ended_at: now }).where('id', '=', id).execute();
}
