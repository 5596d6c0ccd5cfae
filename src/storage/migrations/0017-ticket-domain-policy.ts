import { sql, type Kysely } from 'kysely';

/**
 * A setup ticket's domain policy (issue 15, item 4; Auth0's `domain_aliases_config`): how the
 * domains its admin claims on the page are verified (`none`: manual, verified at once from the
 * ticket's own list; `optional` or `required`: by DNS, before activation under `required`),
 * whether they route logins, and the domains the admin entered on the page. Tickets created before
 * keep what they were made with (`none`); new ones default to `required`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('sso_tickets')
    .addColumn('domain_verification', 'text', (c) =>
      c
        .notNull()
        .defaultTo('none')
        .check(sql`domain_verification in ('none', 'optional', 'required')`),
    )
    .addColumn('use_for_discovery', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('entered_domains', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .execute();
  await sql`alter table sso_tickets alter column domain_verification set default 'required'`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
