import type { Kysely } from 'kysely';

/**
 * The SCIM directory a setup ticket's Directory sync step created (issue 14, "Setup"), so that the
 * page shows its base URL and live status and a new token rotates it instead of making another.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('sso_tickets')
    .addColumn('directory_id', 'text', (c) => c.references('directories.id').onDelete('set null'))
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
