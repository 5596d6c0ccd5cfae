import type { Insertable, Kysely, Updateable } from 'kysely';
import type { Database, OrganizationRow, OrganizationsTable } from './schema.ts';

/** Filters of the organization list; `after` is the last id of the previous page. */
export interface OrganizationListFilter {
  organizationId?: string | undefined;
  externalId?: string | undefined;
  domain?: string | undefined;
  /** Part of the name, in any case. */
  name?: string | undefined;
  after?: string | undefined;
  limit: number;
}

export async function insertOrganization(db: Kysely<Database>, row: Insertable<OrganizationsTable>): Promise<void> {
  await db.insertInto('organizations').values(row).execute();
}

/** One organization by id, whoever may see it (callers check visibility). */
export async function findOrganization(db: Kysely<Database>, id: string): Promise<OrganizationRow | undefined> {
  return db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function organizationExists(db: Kysely<Database>, id: string): Promise<boolean> {
  return (await db.selectFrom('organizations').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
}

/** `limit + 1` organizations in id (creation) order, for toPage; a domain is matched through organization_domains. */
export async function listOrganizations(db: Kysely<Database>, filter: OrganizationListFilter): Promise<OrganizationRow[]> {
  let q = db
    .selectFrom('organizations')
    .selectAll('organizations')
    .orderBy('organizations.id')
    .limit(filter.limit + 1);
  if (filter.organizationId !== undefined) q = q.where('organizations.id', '=', filter.organizationId);
  if (filter.after !== undefined) q = q.where('organizations.id', '>', filter.after);
  if (filter.externalId !== undefined) q = q.where('external_id', '=', filter.externalId);
  // LIKE's own wildcards in the search text match themselves.
  if (filter.name !== undefined) q = q.where('name', 'ilike', `%${filter.name.replace(/[\\%_]/g, '\\$&')}%`);
  if (filter.domain !== undefined) {
    q = q
      .innerJoin('organization_domains', 'organization_domains.organization_id', 'organizations.id')
      .where('organization_domains.domain', '=', filter.domain)
      .where('organization_domains.state', '=', 'verified');
  }
  return q.execute();
}

export async function updateOrganization(db: Kysely<Database>, id: string, change: Updateable<OrganizationsTable>): Promise<void> {
  await db.updateTable('organizations').set(change).where('id', '=', id).execute();
}

/** Deletes an organization; its connections, keys, tickets and domains go with it (foreign keys cascade). */
export async function deleteOrganization(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('organizations').where('id', '=', id).execute();
}

// Since migration 0009 organization_domains holds claims in every state; only verified ones are an
// organization's domains (its `domains` field, discovery, the setup page's ownership checks).

/** The verified domains of each of `organizationIds`, by domain. */
export async function domainsOf(
  db: Kysely<Database>,
  organizationIds: readonly string[],
): Promise<{ domain: string; organization_id: string }[]> {
  if (organizationIds.length === 0) return [];
  return db
    .selectFrom('organization_domains')
    .select(['domain', 'organization_id'])
    .where('organization_id', 'in', organizationIds)
    .where('state', '=', 'verified')
    .orderBy('domain')
    .execute();
}

/** Which organization holds each of `domains` verified (those nobody holds are absent). */
export async function domainHolders(
  db: Kysely<Database>,
  domains: readonly string[],
): Promise<{ domain: string; organization_id: string }[]> {
  if (domains.length === 0) return [];
  return db
    .selectFrom('organization_domains')
    .select(['domain', 'organization_id'])
    .where('domain', 'in', domains)
    .where('state', '=', 'verified')
    .execute();
}

/** The first of `domains` another organization than `organizationId` holds verified, if any. */
export async function domainHeldElsewhere(
  db: Kysely<Database>,
  domains: readonly string[],
  organizationId: string,
): Promise<string | undefined> {
  if (domains.length === 0) return undefined;
  const row = await db
    .selectFrom('organization_domains')
    .select('domain')
    .where('domain', 'in', domains)
    .where('organization_id', '!=', organizationId)
    .where('state', '=', 'verified')
    .executeTakeFirst();
  return row?.domain;
}

/**
 * Makes `domains` an organization's verified domains, as an admin key's `domains` field says:
 * its other verified claims are removed, its pending claims of other domains stay, and each listed
 * domain becomes a `manual` claim verified at `now` (a pending claim of the same domain included).
 * The first one another organization holds verified is returned instead, with nothing written
 * (call it in a transaction, which the caller then fails).
 */
export async function replaceDomains(
  db: Kysely<Database>,
  organizationId: string,
  domains: readonly string[],
  now: Date,
): Promise<string | undefined> {
  const taken = await domainHeldElsewhere(db, domains, organizationId);
  if (taken !== undefined) return taken;
  let removed = db.deleteFrom('organization_domains').where('organization_id', '=', organizationId).where('state', '=', 'verified');
  if (domains.length > 0) removed = removed.where('domain', 'not in', domains);
  await removed.execute();
  await claimDomains(db, organizationId, domains, now);
  return undefined;
}

/**
 * Makes each of `domains` a `manual` claim of the organization, verified at `now` (callers check
 * other holders first); `useForDiscovery`, when given, is set on each (a setup ticket's policy).
 */
export async function claimDomains(
  db: Kysely<Database>,
  organizationId: string,
  domains: readonly string[],
  now: Date,
  useForDiscovery?: boolean,
): Promise<void> {
  if (domains.length === 0) return;
  const verified = {
    state: 'verified',
    verification: 'manual',
    verification_value: null,
    started_at: null,
    next_check_at: null,
    verified_at: now,
    failed_at: null,
    ...(useForDiscovery === undefined ? {} : { use_for_discovery: useForDiscovery }),
  } as const;
  await db
    .insertInto('organization_domains')
    .values(domains.map((domain) => ({ domain, organization_id: organizationId, ...verified })))
    // A domain this organization already holds verified keeps its method and time.
    .onConflict((c) => c.columns(['organization_id', 'domain']).doUpdateSet(verified).where('organization_domains.state', '!=', 'verified'))
    .execute();
}
