import { sql, type Kysely } from 'kysely';

/**
 * Domains join the tables the login keeps in memory (src/storage/read-cache.ts): discovery and
 * email_verified read who holds which verified domain. The NOTIFY of migration 0015, but per row:
 * every instance's domain re-check claims due domains with an UPDATE every few seconds, and a
 * statement trigger would notify for each one that matched nothing. TRUNCATE has no rows, so it
 * keeps a statement trigger.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create trigger lanyard_notify_change after insert or update or delete on organization_domains
    for each row execute function lanyard_notify_change()`.execute(db);
  await sql`
    create trigger lanyard_notify_truncate after truncate on organization_domains
    for each statement execute function lanyard_notify_change()`.execute(db);
}
