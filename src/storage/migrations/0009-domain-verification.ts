import { sql, type Kysely } from 'kysely';

/**
 * Verified domains (issue 15): a domain becomes a claim of one organization with a verification
 * state. Several organizations may claim one domain while it is pending (a claim proves nothing
 * yet, so it must not block the real owner); once verified it belongs to one organization alone
 * (the partial unique index). The domains that existed before were set by admin keys, which are
 * trusted: they become `manual` claims, verified now, as the API treated them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table organization_domains drop constraint organization_domains_pkey`.execute(db);
  await db.schema
    .alterTable('organization_domains')
    .addColumn('state', 'text', (c) =>
      c
        .notNull()
        .defaultTo('verified')
        .check(sql`state in ('pending', 'verified', 'failed')`),
    )
    .addColumn('verification', 'text', (c) =>
      c
        .notNull()
        .defaultTo('manual')
        .check(sql`verification in ('dns', 'manual')`),
    )
    // The TXT value to publish at _lanyard-verification.<domain>; null for manual claims.
    .addColumn('verification_value', 'text')
    .addColumn('use_for_discovery', 'boolean', (c) => c.notNull().defaultTo(true))
    // When the current 7-day verification window began (a new claim, or a failed one tried again).
    .addColumn('started_at', 'timestamptz')
    // When the background job checks next; while a job holds the claim, the end of its lease.
    .addColumn('next_check_at', 'timestamptz')
    .addColumn('verified_at', 'timestamptz')
    .addColumn('failed_at', 'timestamptz')
    // The last check's time and result ({at, result}), shown to the admin.
    .addColumn('last_check', 'jsonb')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`update organization_domains set verified_at = now()`.execute(db);
  await sql`alter table organization_domains add constraint organization_domains_claim primary key (organization_id, domain)`.execute(db);
  await sql`create unique index organization_domains_verified on organization_domains (domain) where state = 'verified'`.execute(db);
  await sql`create index organization_domains_due on organization_domains (next_check_at) where state = 'pending'`.execute(db);

  // What a login whose email lies outside the organization's verified domains gets: `flag` (signed
  // in with email_verified false) or `enforce` (refused with email_domain_not_allowed).
  await db.schema
    .alterTable('connections')
    .addColumn('email_domain_policy', 'text', (c) =>
      c
        .notNull()
        .defaultTo('flag')
        .check(sql`email_domain_policy in ('flag', 'enforce')`),
    )
    .execute();
}
