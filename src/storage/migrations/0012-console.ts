import type { Kysely } from 'kysely';

/**
 * The operator console: single-use sign-in links, the browser sessions they open, and the
 * diagnosis of a failed login kept on its flow so the console's login traces can show it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // The facts the failure page showed (which certificate signed, which are trusted, the clock …).
  await db.schema.alterTable('login_flows').addColumn('failure_facts', 'jsonb').execute();

  // A sign-in link: only the SHA-256 of its token is kept; used_at makes it single-use.
  await db.schema
    .createTable('console_links')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    // Who asked for it: an admin API key id or `cli`.
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .execute();

  // An operator's browser: the cookie carries a secret whose hash is kept here. A session ends at
  // expires_at (absolute) or when it has been idle too long since last_seen_at, whichever comes first.
  await db.schema
    .createTable('console_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
    .addColumn('link_id', 'text', (c) => c.notNull().references('console_links.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ended_at', 'timestamptz')
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
