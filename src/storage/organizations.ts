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
      .where('organization_domains.domain', '=', filter.domain);
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

/** The domains of each of `organizationIds`, by domain. */
export async function domainsOf(
  db: Kysely<Database>,
  organizationIds: readonly string[],
): Promise<{ domain: string; organization_id: string }[]> {
  if (organizationIds.length === 0) return [];
  return db.selectFrom('organization_domains').selectAll().where('organization_id', 'in', organizationIds).orderBy('domain').execute();
}

/** Which organization holds each of `domains` (those nobody holds are absent). */
export async function domainHolders(
  db: Kysely<Database>,
  domains: readonly string[],
): Promise<{ domain: string; organization_id: string }[]> {
  if (domains.length === 0) return [];
  return db.selectFrom('organization_domains').selectAll().where('domain', 'in', domains).execute();
}

/** The first of `domains` another organization than `organizationId` holds, if any. */
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
    .executeTakeFirst();
  return row?.domain;
}

/**
 * Replaces an organization's domains; the first one another organization holds is returned
 * instead, with nothing inserted (call it in a transaction, which the caller then fails).
 */
export async function replaceDomains(
  db: Kysely<Database>,
  organizationId: string,
  domains: readonly string[],
): Promise<string | undefined> {
  await db.deleteFrom('organization_domains').where('organization_id', '=', organizationId).execute();
  if (domains.length === 0) return undefined;
  const taken = await db.selectFrom('organization_domains').select('domain').where('domain', 'in', domains).executeTakeFirst();
  if (taken !== undefined) return taken.domain;
  await db
    .insertInto('organization_domains')
    .values(domains.map((domain) => ({ domain, organization_id: organizationId })))
    .execute();
  return undefined;
}

/** Claims the free ones of `domains` for an organization; the first one another organization holds meanwhile is returned. */
export async function claimDomains(db: Kysely<Database>, organizationId: string, domains: readonly string[]): Promise<string | undefined> {
  if (domains.length === 0) return undefined;
  await db
    .insertInto('organization_domains')
    .values(domains.map((domain) => ({ domain, organization_id: organizationId })))
    .onConflict((c) => c.column('domain').doNothing())
    .execute();
  return domainHeldElsewhere(db, domains, organizationId);
}
