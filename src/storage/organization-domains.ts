// Domain claims (organization_domains since migration 0009): one row per organization and domain,
// with its verification state. A domain routes logins only while it is verified; at most one
// organization holds it verified (the partial unique index organization_domains_verified).
import type { Insertable, Kysely, Updateable } from 'kysely';
import type { Database, OrganizationDomainRow } from './schema.ts';

type DomainsTable = Database['organization_domains'];

/** The name of the index that keeps a verified domain to one organization (for isUniqueViolation). */
export const VERIFIED_DOMAIN_INDEX = 'organization_domains_verified';

/** An organization's claims, by domain. */
export async function listDomainClaims(db: Kysely<Database>, organizationId: string): Promise<OrganizationDomainRow[]> {
  return db.selectFrom('organization_domains').selectAll().where('organization_id', '=', organizationId).orderBy('domain').execute();
}

/** One claim; `lock` takes it FOR UPDATE (in a transaction) so a check and a change do not cross. */
export async function findDomainClaim(
  db: Kysely<Database>,
  organizationId: string,
  domain: string,
  lock = false,
): Promise<OrganizationDomainRow | undefined> {
  const q = db.selectFrom('organization_domains').selectAll().where('organization_id', '=', organizationId).where('domain', '=', domain);
  return (lock ? q.forUpdate() : q).executeTakeFirst();
}

/** The organization holding `domain` verified, if one does. */
export async function verifiedHolder(db: Kysely<Database>, domain: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('organization_domains')
    .select('organization_id')
    .where('domain', '=', domain)
    .where('state', '=', 'verified')
    .executeTakeFirst();
  return row?.organization_id;
}

export async function insertDomainClaim(db: Kysely<Database>, row: Insertable<DomainsTable>): Promise<void> {
  await db.insertInto('organization_domains').values(row).execute();
}

export async function updateDomainClaim(
  db: Kysely<Database>,
  organizationId: string,
  domain: string,
  change: Updateable<DomainsTable>,
): Promise<void> {
  await db
    .updateTable('organization_domains')
    .set(change)
    .where('organization_id', '=', organizationId)
    .where('domain', '=', domain)
    .execute();
}

/** Deletes a claim; true when there was one. */
export async function deleteDomainClaim(db: Kysely<Database>, organizationId: string, domain: string): Promise<boolean> {
  const result = await db
    .deleteFrom('organization_domains')
    .where('organization_id', '=', organizationId)
    .where('domain', '=', domain)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * Claims up to `limit` pending domains whose check is due, skipping rows another instance is
 * claiming at this instant. A claim moves `next_check_at` to `leaseUntil`, so no other instance
 * checks the domain meanwhile, and a checker that dies lets the claim fall due again by itself.
 */
export async function claimDueChecks(
  db: Kysely<Database>,
  claim: { now: Date; leaseUntil: Date; limit: number },
): Promise<Pick<OrganizationDomainRow, 'organization_id' | 'domain'>[]> {
  return db
    .updateTable('organization_domains as d')
    .set({ next_check_at: claim.leaseUntil })
    .from((eb) =>
      eb
        .selectFrom('organization_domains')
        .select(['organization_id', 'domain'])
        .where('state', '=', 'pending')
        .where('next_check_at', '<=', claim.now)
        .orderBy('next_check_at')
        .limit(claim.limit)
        .forUpdate()
        .skipLocked()
        .as('due'),
    )
    .whereRef('d.organization_id', '=', 'due.organization_id')
    .whereRef('d.domain', '=', 'due.domain')
    .returning(['d.organization_id', 'd.domain'])
    .execute();
}
