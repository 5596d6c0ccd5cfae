// Domains as resources (issue 15): an organization's claims on email domains, proven by a DNS TXT
// record (or vouched for by an admin key), checked now on request and in the background until
// verified or 7 days have passed. The pure rules are verification.ts; this file loads, applies and
// stores them, with each transition's event in the same transaction.
import type { Kysely } from 'kysely';
import type { Clock, RandomBytes } from '../../crypto/tokens.ts';
import type { TxtLookup } from '../../net/dns-txt.ts';
import {
  claimDueChecks,
  deleteDomainClaim,
  findDomainClaim,
  insertDomainClaim,
  listDomainClaims,
  updateDomainClaim,
  verifiedHolder,
} from '../../storage/organization-domains.ts';
import { organizationExists } from '../../storage/organizations.ts';
import type { Database, OrganizationDomainRow } from '../../storage/schema.ts';
import { isUniqueViolation } from '../../storage/unique-violation.ts';
import type { CreateOrganizationDomainBody, OrganizationDomain } from '../../http/schemas/domains.ts';
import { canSee, requireAdmin, SYSTEM_ACTOR, type Actor } from '../actor.ts';
import { AppError, notFound } from '../errors.ts';
import { recordEvent } from '../events/events.ts';
import { normalizeDomains } from '../organizations/domains.ts';
import { isConsumerDomain } from './consumer-domains.ts';
import {
  applyCheck,
  matchVerificationRecord,
  newVerificationValue,
  startVerification,
  verificationDeadline,
  verificationRecordName,
  type CheckResult,
  type VerificationState,
} from './verification.ts';

export interface DomainServiceDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  /** The TXT lookup (src/net/dns-txt.ts, over LANYARD_DNS_SERVERS). */
  readonly txtLookup: TxtLookup;
}

/** How long a background check holds its claims: well past the lookup's 5 s deadline. */
const CHECK_LEASE_MS = 60_000;

export function createDomainService(deps: DomainServiceDeps) {
  const { db, clock, random, txtLookup } = deps;

  async function requireOrganization(actor: Actor, organizationId: string): Promise<void> {
    if (!canSee(actor, organizationId) || !(await organizationExists(db, organizationId))) throw notFound('organization');
  }

  async function requireClaim(actor: Actor, organizationId: string, rawDomain: string): Promise<OrganizationDomainRow> {
    await requireOrganization(actor, organizationId);
    const row = await findDomainClaim(db, organizationId, normalizeDomain(rawDomain));
    if (row === undefined) throw notFound('domain');
    return row;
  }

  /** Looks the claim's record up and applies the result, emitting the transition's event with it. */
  async function check(row: OrganizationDomainRow, actor: Actor, trigger: 'scheduled' | 'manual'): Promise<void> {
    if (row.verification_value === null) return;
    const found = matchVerificationRecord(await txtLookup(verificationRecordName(row.domain)), row.verification_value);
    await db.transaction().execute(async (trx) => {
      // Locked and read again: the claim may have been deleted, or verified by the other trigger, meanwhile.
      const current = await findDomainClaim(trx, row.organization_id, row.domain, true);
      if (current === undefined) return;
      const holder = found.matched ? await verifiedHolder(trx, row.domain) : undefined;
      const result: CheckResult =
        holder !== undefined && holder !== row.organization_id ? { matched: false, code: 'domain_verified_elsewhere', found: [] } : found;
      const now = clock();
      const next = applyCheck(toState(current), result, now, trigger);
      await updateDomainClaim(trx, row.organization_id, row.domain, toColumns(next.state));
      if (next.event !== undefined) {
        await recordEvent(trx, { now, random }, actor, {
          type: next.event,
          organizationId: row.organization_id,
          summary: { domain: row.domain, verification: row.verification, state: next.state.state },
        });
      }
    });
  }

  return {
    /** An organization's domains in every state, by name. */
    async list(actor: Actor, organizationId: string): Promise<{ data: OrganizationDomain[]; nextCursor: null }> {
      await requireOrganization(actor, organizationId);
      return { data: (await listDomainClaims(db, organizationId)).map(toDomain), nextCursor: null };
    },

    async get(actor: Actor, organizationId: string, domain: string): Promise<OrganizationDomain> {
      return toDomain(await requireClaim(actor, organizationId, domain));
    },

    /**
     * Claims a domain: `dns` (the default) is pending until its TXT record is found; `manual` is
     * verified at once, so only an admin key may ask for it. A domain another organization holds
     * verified is a 409; one it merely claims is not (a claim proves nothing and must not block).
     */
    async create(actor: Actor, organizationId: string, input: CreateOrganizationDomainBody): Promise<OrganizationDomain> {
      await requireOrganization(actor, organizationId);
      const domain = normalizeDomain(input.domain);
      const verification = input.verification ?? 'dns';
      if (verification === 'manual') requireAdmin(actor, 'verify a domain without DNS');
      const useForDiscovery = input.useForDiscovery ?? true;
      // Anyone can have an address at a consumer domain: routing its logins to one organization would hand it everyone's.
      if (useForDiscovery && isConsumerDomain(domain)) {
        throw new AppError('validation_failed', `${domain} is a consumer mail domain: it cannot be used for discovery`, [
          { field: 'useForDiscovery', message: 'must be false for a consumer mail domain' },
        ]);
      }
      const now = clock();
      try {
        return await db.transaction().execute(async (trx) => {
          if ((await findDomainClaim(trx, organizationId, domain)) !== undefined)
            throw taken(domain, 'this organization already claims it');
          const holder = await verifiedHolder(trx, domain);
          if (holder !== undefined) throw taken(domain, 'another organization holds it verified');
          const pending = startVerification(now);
          await insertDomainClaim(trx, {
            organization_id: organizationId,
            domain,
            use_for_discovery: useForDiscovery,
            verification,
            ...(verification === 'dns'
              ? { verification_value: newVerificationValue(random), ...toColumns(pending) }
              : { state: 'verified', verified_at: now }),
          });
          const summary = { domain, verification, state: verification === 'dns' ? 'pending' : 'verified' } as const;
          await recordEvent(trx, { now, random }, actor, { type: 'organization_domain.created', organizationId, summary });
          if (verification === 'manual')
            await recordEvent(trx, { now, random }, actor, { type: 'organization_domain.verified', organizationId, summary });
          const row = await findDomainClaim(trx, organizationId, domain);
          if (row === undefined) throw new Error('the claim just inserted is gone');
          return toDomain(row);
        });
      } catch (error) {
        // Two requests racing past the checks above meet at the keys instead.
        if (isUniqueViolation(error)) throw taken(domain, 'claimed meanwhile', error);
        throw error;
      }
    },

    async delete(actor: Actor, organizationId: string, domain: string): Promise<void> {
      const row = await requireClaim(actor, organizationId, domain);
      const now = clock();
      await db.transaction().execute(async (trx) => {
        if (!(await deleteDomainClaim(trx, organizationId, row.domain))) throw notFound('domain');
        await recordEvent(trx, { now, random }, actor, {
          type: 'organization_domain.deleted',
          organizationId,
          summary: { domain: row.domain, verification: row.verification, state: row.state },
        });
      });
    },

    /** Checks the TXT record now ("Check now"); the background schedule is left as it is. */
    async verify(actor: Actor, organizationId: string, domain: string): Promise<OrganizationDomain> {
      const row = await requireClaim(actor, organizationId, domain);
      await check(row, actor, 'manual');
      return toDomain(await requireClaim(actor, organizationId, domain));
    },

    /** The background job's step: claims up to `limit` due pending domains and checks each; returns how many. */
    async checkDue(limit: number): Promise<number> {
      const now = clock();
      const claimed = await claimDueChecks(db, { now, leaseUntil: new Date(now.getTime() + CHECK_LEASE_MS), limit });
      await Promise.all(
        claimed.map(async ({ organization_id, domain }) => {
          const row = await findDomainClaim(db, organization_id, domain);
          if (row !== undefined) await check(row, SYSTEM_ACTOR, 'scheduled');
        }),
      );
      return claimed.length;
    },
  };
}

export type DomainService = ReturnType<typeof createDomainService>;

function normalizeDomain(raw: string): string {
  const [domain] = normalizeDomains([raw], 'domain');
  if (domain === undefined) throw new AppError('validation_failed', 'domain is required', [{ field: 'domain', message: 'required' }]);
  return domain;
}

function taken(domain: string, why: string, cause?: unknown): AppError {
  return new AppError('conflict', `${domain}: ${why}`, [{ field: 'domain', message: why }], cause === undefined ? undefined : { cause });
}

/** The row's state as verification.ts models it. */
function toState(row: OrganizationDomainRow): VerificationState {
  const lastCheck = row.last_check === null ? undefined : { at: new Date(row.last_check.at), result: row.last_check.result };
  const startedAt = row.started_at ?? row.created_at;
  if (row.state === 'verified') return { state: 'verified', verifiedAt: row.verified_at ?? row.created_at, lastCheck };
  if (row.state === 'failed') return { state: 'failed', startedAt, failedAt: row.failed_at ?? startedAt, lastCheck };
  return { state: 'pending', startedAt, nextCheckAt: row.next_check_at ?? startedAt, lastCheck };
}

/** The columns that hold a state. */
function toColumns(state: VerificationState) {
  return {
    state: state.state,
    started_at: state.state === 'verified' ? null : state.startedAt,
    next_check_at: state.state === 'pending' ? state.nextCheckAt : null,
    verified_at: state.state === 'verified' ? state.verifiedAt : null,
    failed_at: state.state === 'failed' ? state.failedAt : null,
    last_check:
      state.lastCheck === undefined ? null : JSON.stringify({ at: state.lastCheck.at.toISOString(), result: state.lastCheck.result }),
  };
}

/** The API's view of a stored claim (also what the setup page shows of the domains its admin entered). */
export function toDomain(row: OrganizationDomainRow): OrganizationDomain {
  const iso = (date: Date | null): string | null => (date === null ? null : date.toISOString());
  const check = row.last_check;
  return {
    domain: row.domain,
    organizationId: row.organization_id,
    state: row.state,
    verification: row.verification,
    useForDiscovery: row.use_for_discovery,
    dnsRecord:
      row.verification_value === null ? null : { type: 'TXT', name: verificationRecordName(row.domain), value: row.verification_value },
    verifiedAt: iso(row.verified_at),
    failedAt: iso(row.failed_at),
    nextCheckAt: row.state === 'pending' ? iso(row.next_check_at) : null,
    verificationDeadline: row.state === 'pending' && row.started_at !== null ? verificationDeadline(row.started_at).toISOString() : null,
    lastCheck:
      check === null
        ? null
        : {
            at: check.at,
            matched: check.result.matched,
            ...(check.result.matched ? {} : { code: check.result.code }),
            found: check.result.matched ? [] : [...check.result.found],
          },
    createdAt: row.created_at.toISOString(),
  };
}
