import { type Kysely } from 'kysely';

/**
 * OAuth 2.1 §4.1.1: PKCE is required of every application unless it opts out, and an opt-out
 * names its reason (an app that cannot send a code_challenge), so that it is a decision on record.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('applications')
    .addColumn('require_pkce', 'boolean', (c) => c.notNull().defaultTo(true))
    .execute();
  await db.schema.alterTable('applications').addColumn('pkce_exempt_reason', 'text').execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
