import { sql, type Kysely } from 'kysely';

/**
 * A NOTIFY on `lanyard_changes` (src/storage/read-cache.ts) after every statement that writes the
 * tables the login keeps in memory, so that every instance forgets what it cached, whoever wrote:
 * another instance, a cascade from an organization, or someone at psql. Statement-level: one
 * notification per statement, and PostgreSQL folds repeats within a transaction into one.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function lanyard_notify_change() returns trigger language plpgsql as $$
    begin
      perform pg_notify('lanyard_changes', tg_table_name);
      return null;
    end
    $$`.execute(db);
  for (const table of ['applications', 'connections', 'organizations']) {
    await sql`
      create trigger lanyard_notify_change after insert or update or delete or truncate on ${sql.table(table)}
      for each statement execute function lanyard_notify_change()`.execute(db);
  }
}
