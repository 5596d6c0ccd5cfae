import type { Kysely, Transaction } from 'kysely';
import { newId, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import { decodeCursor, toPage, type Page } from '../../storage/pagination.ts';
import type { Database, OrganizationRow } from '../../storage/schema.ts';
import {
  deleteOrganization,
  domainsOf,
  findOrganization,
  insertOrganization,
  listOrganizations,
  replaceDomains,
  updateOrganization,
} from '../../storage/organizations.ts';
import { VERIFIED_DOMAIN_INDEX } from '../../storage/organization-domains.ts';
import { isUniqueViolation } from '../../storage/unique-violation.ts';
import type {
  CreateOrganizationBody,
  ListOrganizationsQuery,
  Organization,
  UpdateOrganizationBody,
} from '../../http/schemas/organizations.ts';
import { canSee, requireAdmin, type Actor } from '../actor.ts';
import { AppError, notFound } from '../errors.ts';
import { recordEvent } from '../events/events.ts';
import { normalizeDomains } from './domains.ts';

export interface OrganizationServiceDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
}

/** Organizations: the SaaS company's customers, each owning connections, keys and tickets. */
export function createOrganizationService(deps: OrganizationServiceDeps) {
  const { db, clock, random } = deps;

  async function load(trx: Kysely<Database>, actor: Actor, id: string): Promise<Organization> {
    const row = await findOrganization(trx, id);
    if (row === undefined || !canSee(actor, row.id)) throw notFound('organization');
    const domains = await domainsOf(trx, [id]);
    return toOrganization(
      row,
      domains.map((d) => d.domain),
    );
  }

  async function writeDomains(trx: Transaction<Database>, organizationId: string, domains: string[]): Promise<void> {
    const taken = await replaceDomains(trx, organizationId, domains, clock());
    if (taken !== undefined) throw domainTaken(taken, domains);
  }

  return {
    /** Creates an organization and its domains; admin keys only. */
    async create(actor: Actor, input: CreateOrganizationBody): Promise<Organization> {
      requireAdmin(actor, 'create organizations');
      const domains = normalizeDomains(input.domains ?? []);
      const now = clock();
      const id = newId('org', now, random);
      return translateConflicts(() =>
        db.transaction().execute(async (trx) => {
          await insertOrganization(trx, { id, name: input.name, external_id: input.externalId ?? null, created_at: now, updated_at: now });
          await writeDomains(trx, id, domains);
          await recordEvent(trx, { now, random }, actor, {
            type: 'organization.created',
            organizationId: id,
            summary: { name: input.name, externalId: input.externalId ?? null, domains },
          });
          return load(trx, actor, id);
        }),
      );
    },

    async get(actor: Actor, id: string): Promise<Organization> {
      return load(db, actor, id);
    },

    /** Organizations in creation order; an organization key sees only its own. */
    async list(actor: Actor, query: ListOrganizationsQuery): Promise<Page<Organization>> {
      const after = decodeCursor(query.cursor);
      const domain = query.domain === undefined ? undefined : (normalizeDomains([query.domain], 'domain')[0] ?? '');
      const rows = await listOrganizations(db, {
        organizationId: actor.organizationId ?? undefined,
        externalId: query.externalId,
        domain,
        name: query.name,
        after,
        limit: query.limit,
      });
      const domains = await domainsOf(
        db,
        rows.map((r) => r.id),
      );
      return toPage(rows, query.limit, (row) =>
        toOrganization(
          row,
          domains.filter((d) => d.organization_id === row.id).map((d) => d.domain),
        ),
      );
    },

    /** Changes the given fields; `domains` replaces the whole list. */
    async update(actor: Actor, id: string, input: UpdateOrganizationBody): Promise<Organization> {
      // Domains set here are verified at once (`manual`): only an admin key may vouch for them.
      if (input.domains !== undefined) requireAdmin(actor, 'set domains without verification (claim them at /domains)');
      const domains = input.domains === undefined ? undefined : normalizeDomains(input.domains);
      const now = clock();
      return translateConflicts(() =>
        db.transaction().execute(async (trx) => {
          await load(trx, actor, id);
          await updateOrganization(trx, id, {
            updated_at: now,
            ...(input.name !== undefined ? { name: input.name } : {}),
            ...(input.externalId !== undefined ? { external_id: input.externalId } : {}),
          });
          if (domains !== undefined) await writeDomains(trx, id, domains);
          const changed = Object.keys(input).filter((k) => (input as Record<string, unknown>)[k] !== undefined);
          await recordEvent(trx, { now, random }, actor, { type: 'organization.updated', organizationId: id, summary: { changed } });
          return load(trx, actor, id);
        }),
      );
    },

    /** Deletes the organization and, through cascading keys, all it owns, in one transaction. */
    async delete(actor: Actor, id: string): Promise<void> {
      const now = clock();
      await db.transaction().execute(async (trx) => {
        const organization = await load(trx, actor, id);
        await deleteOrganization(trx, id);
        await recordEvent(trx, { now, random }, actor, {
          type: 'organization.deleted',
          organizationId: id,
          summary: { name: organization.name },
        });
      });
    },
  };
}

export type OrganizationService = ReturnType<typeof createOrganizationService>;

function toOrganization(row: OrganizationRow, domains: string[]): Organization {
  return {
    id: row.id,
    name: row.name,
    externalId: row.external_id,
    domains,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function domainTaken(domain: string, domains: string[]): AppError {
  return new AppError('conflict', `domain ${domain} already belongs to another organization`, [
    { field: `domains.${domains.indexOf(domain)}`, message: 'already taken' },
  ]);
}

/** Turns a unique-constraint race the pre-checks could not see into the same 409 they give. */
async function translateConflicts<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUniqueViolation(error, 'organizations_external_id'))
      throw new AppError(
        'conflict',
        'externalId is already used by another organization',
        [{ field: 'externalId', message: 'already taken' }],
        { cause: error },
      );
    if (isUniqueViolation(error, VERIFIED_DOMAIN_INDEX))
      throw new AppError('conflict', 'a domain already belongs to another organization', [{ field: 'domains', message: 'already taken' }], {
        cause: error,
      });
    throw error;
  }
}
