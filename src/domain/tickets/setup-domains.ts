// The setup page's Email domains step (issue 15, item 4): under a ticket's domain policy `optional`
// or `required`, the admin enters domains, each claimed at once by DNS through the domain service
// (acting as the ticket), checks them now, or removes them; under `required` activation waits for
// every one to be verified. Policy `none` has no such step (setup.ts claims the ticket's own list).
import type { Kysely } from 'kysely';
import type { Clock } from '../../crypto/tokens.ts';
import { findDomainClaim } from '../../storage/organization-domains.ts';
import type { Database, SsoTicketRow } from '../../storage/schema.ts';
import { addEnteredDomain, removeEnteredDomain } from '../../storage/tickets.ts';
import type { Actor } from '../actor.ts';
import { fieldError } from '../connections/input-checks.ts';
import type { DomainService } from '../domains/domains.ts';
import { AppError } from '../errors.ts';
import { normalizeDomains } from '../organizations/domains.ts';
import type { EnteredDomain } from './setup-view.ts';

/** At most this many domains may be entered on one ticket's page (each pending one is re-checked for 7 days). */
export const MAX_ENTERED_DOMAINS = 20;

/** What the step uses; `actor` is the ticket acting, `saved` records the page's change (`sso_ticket.saved`). */
export interface SetupDomainsDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly domains: Pick<DomainService, 'create' | 'verify' | 'delete'>;
  /** The error for a ticket that stopped being open during the request. */
  readonly noLongerOpen: () => AppError;
}

/** One request's context: the ticket, acting as itself, and how to record a change of the page. */
export interface SetupDomainsRequest {
  readonly ticket: SsoTicketRow;
  readonly actor: Actor;
  readonly saved: () => Promise<void>;
}

/** True when the ticket's page has the Email domains step. */
export function hasDomainsStep(ticket: SsoTicketRow): boolean {
  return ticket.enabled_features.includes('domains') && ticket.domain_verification !== 'none';
}

/** The domain a page form names, normalized; a 400 naming the form's `domain` field otherwise. */
function domainOf(raw: string): string {
  // Echoed back in the refusal: not a megabyte of it.
  if (raw.length > 253) throw fieldError('domain', 'is longer than 253 characters');
  const [domain] = normalizeDomains([raw], 'domain');
  if (domain === undefined) throw fieldError('domain', 'is required');
  return domain;
}

/** Domains are entered on the page only when the ticket offers the step and verifies them by DNS. */
function requireDnsPolicy(ticket: SsoTicketRow): void {
  if (!hasDomainsStep(ticket)) throw fieldError('domain', 'cannot be entered through this setup link');
}

/** A domain the page may check or remove: one the admin entered on it. */
function requireEntered(ticket: SsoTicketRow, raw: string): string {
  requireDnsPolicy(ticket);
  const domain = domainOf(raw);
  if (!ticket.entered_domains.includes(domain)) throw fieldError('domain', 'is not one of the domains entered on this page');
  return domain;
}

const full = () => fieldError('domain', `cannot be added: this page takes at most ${MAX_ENTERED_DOMAINS} domains`);

/**
 * Under policy `required`, activation waits for each entered domain (the page says which); a
 * domain deleted meanwhile through the API counts as not verified.
 */
export function requireEnteredVerified(ticket: SsoTicketRow, entered: readonly EnteredDomain[]): void {
  if (ticket.domain_verification !== 'required') return;
  const unverified = entered.filter((d) => d.claim?.state !== 'verified').map((d) => d.domain);
  if (unverified.length === 0) return;
  throw new AppError(
    'conflict',
    `not activated: ${unverified.join(', ')} ${unverified.length === 1 ? 'is' : 'are'} not verified yet`,
    unverified.map((domain) => ({
      field: 'domains',
      message: `${domain} is not verified yet: publish its TXT record, then press Check now (or remove it)`,
    })),
  );
}

/** The step's three actions. */
export function createSetupDomains(deps: SetupDomainsDeps) {
  const { db, clock, domains, noLongerOpen } = deps;
  return {
    /**
     * Claims a domain the admin entered, by DNS (pending until its TXT record is found), with the
     * ticket's discovery flag; a claim the organization already has is taken over as it is.
     */
    async add({ ticket, actor, saved }: SetupDomainsRequest, raw: string): Promise<void> {
      requireDnsPolicy(ticket);
      const domain = domainOf(raw);
      if (ticket.entered_domains.length >= MAX_ENTERED_DOMAINS && !ticket.entered_domains.includes(domain)) throw full();
      const created = (await findDomainClaim(db, ticket.organization_id, domain)) === undefined;
      if (created) {
        try {
          await domains.create(actor, ticket.organization_id, { domain, verification: 'dns', useForDiscovery: ticket.use_for_discovery });
        } catch (error) {
          // The domain service names its own field; on the page it is the domain that is wrong.
          if (error instanceof AppError && error.details?.some((d) => d.field === 'useForDiscovery'))
            throw fieldError('domain', 'is a consumer mail domain (anyone can have an address there): it cannot route sign-ins', error);
          throw error;
        }
      }
      const added = await addEnteredDomain(db, { id: ticket.id, now: clock(), domain, max: MAX_ENTERED_DOMAINS });
      if (added === 'closed' || added === 'full') {
        // Other requests of this page filled it (or ended the ticket) meanwhile: leave no claim the page does not show.
        if (created) await domains.delete(actor, ticket.organization_id, domain);
        throw added === 'closed' ? noLongerOpen() : full();
      }
      await saved();
    },

    /** "Check now": looks the entered domain's TXT record up now; the result is kept on the claim. */
    async check({ ticket, actor }: SetupDomainsRequest, raw: string): Promise<void> {
      const domain = requireEntered(ticket, raw);
      try {
        await domains.verify(actor, ticket.organization_id, domain);
      } catch (error) {
        if (error instanceof AppError && error.code === 'not_found')
          throw fieldError('domain', 'was removed meanwhile: add it again', error);
        throw error;
      }
    },

    /** Takes an entered domain off the page; its claim goes too unless it is verified (then it stays the organization's). */
    async remove({ ticket, actor, saved }: SetupDomainsRequest, raw: string): Promise<void> {
      const domain = requireEntered(ticket, raw);
      const claim = await findDomainClaim(db, ticket.organization_id, domain);
      if (claim !== undefined && claim.state === 'verified')
        throw fieldError('domain', "is verified: it is now your organization's and stays so");
      if (!(await removeEnteredDomain(db, { id: ticket.id, now: clock(), domain }))) throw noLongerOpen();
      if (claim !== undefined) await domains.delete(actor, ticket.organization_id, domain);
      await saved();
    },
  };
}
