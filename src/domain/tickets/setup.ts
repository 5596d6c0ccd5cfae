import type { Kysely } from 'kysely';
import type { Config } from '../../config.ts';
import { hashToken, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import type { Database, SsoTicketRow } from '../../storage/schema.ts';
import { VERIFIED_DOMAIN_INDEX } from '../../storage/organization-domains.ts';
import { claimDomains, domainHeldElsewhere } from '../../storage/organizations.ts';
import { isUniqueViolation } from '../../storage/unique-violation.ts';
import { findTicketByTokenHash, findTicketOfTestFlow, markOpened, updateOpenTicket } from '../../storage/tickets.ts';
import type { Actor } from '../actor.ts';
import type { AttributeMappingInput, UpdateConnectionBody } from '../../http/schemas/connections.ts';
import type { ConnectionService } from '../connections/connections.ts';
import type { DomainService } from '../domains/domains.ts';
import { fieldError } from '../connections/input-checks.ts';
import { MAPPING_KEYS, PRESETS } from '../connections/presets.ts';
import { AppError, notFound, type FieldProblem } from '../errors.ts';
import type { EventSummary } from '../events/catalogue.ts';
import { recordEvent } from '../events/events.ts';
import type { LoginMetrics, UpstreamHop, Upstreams } from '../login/ports.ts';
import { findChoice } from './guides.ts';
import { createSetupDomains, hasDomainsStep, requireEnteredVerified, type SetupDomainsRequest } from './setup-domains.ts';
import { openSetupSession, readSetupSession, type SetupSession } from './setup-session.ts';
import { isRenewalTicket } from './renewal.ts';
import { readSetupView, type SetupView } from './setup-view.ts';
import { findTestSignIn, startTestSignIn, type TestSignIn } from './test-sign-in.ts';
import type { TicketFeature } from './view.ts';

/** What a setup URL's token leads to: a ticket to work on or to summarise, or a page saying it is not valid. */
export type TicketAccess = { kind: 'open' | 'completed'; ticket: SsoTicketRow } | { kind: 'invalid'; status: 404 | 410 };

/** One of the IdP forms of the setup page, as posted: `values` keyed by the connection API's dotted field names. */
export interface IdpForm {
  source: 'url' | 'xml' | 'fields' | 'oidc';
  values: Readonly<Record<string, string | undefined>>;
}

/** What the setup service uses; `upstream` starts test sign-ins as the login's authorize step does. */
export interface SetupServiceDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly config: Pick<Config, 'publicUrl'>;
  readonly connections: Pick<ConnectionService, 'create' | 'get' | 'update' | 'delete' | 'getForLogin'>;
  /** Domains the admin enters are claimed, checked and removed through the domain service, as the ticket. */
  readonly domains: Pick<DomainService, 'create' | 'verify' | 'delete'>;
  readonly upstream: Upstreams;
  /** A test sign-in counts as a login started (/metrics). */
  readonly loginMetrics: LoginMetrics;
}

// base64url of 32 random bytes; anything else is not worth a database lookup.
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** Thrown when the ticket stopped being open during a request (revoked, completed or expired meanwhile). */
function noLongerOpen(): AppError {
  return new AppError('conflict', 'this setup link was revoked, completed or expired meanwhile');
}

/**
 * The hosted setup page's actions, authorized by the ticket alone: every change acts as the ticket
 * (`tkt_…`, confined to its organization) on the ticket's own connection, through the connection
 * service, so its validation, scoping and events apply unchanged.
 */
export function createSetupService(deps: SetupServiceDeps) {
  const { db, clock, random, connections } = deps;
  const actorOf = (ticket: SsoTicketRow, requestId: string | null): Actor => ({
    id: ticket.id,
    organizationId: ticket.organization_id,
    requestId,
  });
  const connectionOf = (ticket: SsoTicketRow) => {
    // access() turns a ticket whose connection was deleted into a 410 before any action runs.
    if (ticket.connection_id === null) throw notFound('connection');
    return connections.get(actorOf(ticket, null), ticket.connection_id);
  };
  const has = (ticket: SsoTicketRow, feature: TicketFeature) => ticket.enabled_features.includes(feature);
  /** A certificate-renewal link changes certificates only (renewal.ts): none of the setup's forms applies to it. */
  const requireSetupTicket = (ticket: SsoTicketRow) => {
    if (isRenewalTicket(ticket))
      throw new AppError('validation_failed', 'this link renews certificates only; it cannot change anything else', [
        { field: 'renewal', message: 'this link renews certificates only; it cannot change anything else' },
      ]);
  };

  async function recordUse<T extends 'sso_ticket.opened' | 'sso_ticket.saved'>(
    ticket: SsoTicketRow,
    requestId: string | null,
    type: T,
    summary: Omit<EventSummary<T>, 'ticketId'>,
  ): Promise<void> {
    const full = { ticketId: ticket.id, ...summary } as EventSummary<T>;
    await recordEvent(db, { now: clock(), random }, actorOf(ticket, requestId), {
      type,
      organizationId: ticket.organization_id,
      summary: full,
    });
  }

  const domainStep = createSetupDomains({ ...deps, noLongerOpen });
  const domainRequest = (ticket: SsoTicketRow, requestId: string | null): SetupDomainsRequest => ({
    ticket,
    actor: actorOf(ticket, requestId),
    saved: () => recordUse(ticket, requestId, 'sso_ticket.saved', { connectionId: ticket.connection_id, changed: ['domains'] }),
  });

  /** Switches a ticket's own draft to the other protocol: a new connection replaces it (its SP values change). */
  async function replaceConnection(
    ticket: SsoTicketRow,
    actor: Actor,
    choice: { provider: string; protocol: 'saml' | 'oidc' },
  ): Promise<void> {
    const old = await connectionOf(ticket);
    if (!ticket.owns_connection || old.enabled)
      throw fieldError(
        'choice',
        `must be a ${old.type.toUpperCase()} identity provider: this setup link is for a ${old.type.toUpperCase()} connection`,
      );
    const created = await connections.create(actor, {
      organizationId: ticket.organization_id,
      type: choice.protocol,
      provider: choice.provider,
      groupSync: old.groupSync,
    });
    const moved = await updateOpenTicket(db, ticket.id, clock(), {
      connection_id: created.id,
      last_test_flow_id: null,
      last_test_at: null,
      last_test_ok: null,
    });
    if (moved === undefined) {
      await connections.delete(actor, created.id);
      throw noLongerOpen();
    }
    await connections.delete(actor, old.id);
  }

  return {
    /** Resolves a setup URL's token. Unknown and tampered tokens are a 404; revoked and expired ones a 410. */
    async access(token: string): Promise<TicketAccess> {
      if (!TOKEN_SHAPE.test(token)) return { kind: 'invalid', status: 404 };
      const ticket = await findTicketByTokenHash(db, hashToken(token));
      if (ticket === undefined) return { kind: 'invalid', status: 404 };
      // A completed ticket's summary is readable until the link expires, not forever.
      if (ticket.revoked_at !== null || ticket.expires_at.getTime() <= clock().getTime() || ticket.connection_id === null)
        return { kind: 'invalid', status: 410 };
      return { kind: ticket.completed_at === null ? 'open' : 'completed', ticket };
    },

    /** Starts a browser session on the page (recorded as a use: `sso_ticket.opened`). */
    async openSession(ticket: SsoTicketRow, token: string, requestId: string | null): Promise<SetupSession> {
      const now = clock();
      const session = await openSetupSession(db, { random, now }, ticket, token);
      const firstOpen = await markOpened(db, ticket.id, now);
      await recordUse(ticket, requestId, 'sso_ticket.opened', { connectionId: ticket.connection_id, firstOpen });
      return session;
    },

    /** The session a cookie stands for on this ticket, if any. */
    async session(ticket: SsoTicketRow, cookieValue: string | undefined): Promise<SetupSession | undefined> {
      return readSetupSession(db, clock(), ticket, cookieValue);
    },

    async view(ticket: SsoTicketRow): Promise<SetupView> {
      return readSetupView(db, ticket, await connectionOf(ticket));
    },

    /** The admin picks the identity provider: its preset (attribute names) and, if needed, the protocol. */
    async choose(ticket: SsoTicketRow, choiceId: string, requestId: string | null): Promise<void> {
      requireSetupTicket(ticket);
      if (!has(ticket, 'provider-choice')) throw fieldError('choice', 'cannot be changed through this setup link');
      const choice = findChoice(choiceId);
      if (choice === undefined) throw fieldError('choice', 'is not one of the identity providers on offer');
      const actor = actorOf(ticket, requestId);
      const current = await connectionOf(ticket);
      if (choice.protocol !== current.type) {
        await replaceConnection(ticket, actor, choice);
      } else if (choice.provider !== current.provider) {
        // A name still at its default follows the provider, so the vendor's list stays truthful.
        const defaultName = `${PRESETS[current.provider].label} ${current.type.toUpperCase()}`;
        const name = current.name === defaultName ? `${PRESETS[choice.provider].label} ${current.type.toUpperCase()}` : undefined;
        await connections.update(actor, current.id, { provider: choice.provider, ...(name ? { name } : {}) });
      }
      await recordUse(ticket, requestId, 'sso_ticket.saved', {
        connectionId: ticket.connection_id,
        changed: ['provider'],
        provider: choice.provider,
        protocol: choice.protocol,
      });
    },

    /** Saves the IdP's values from one of the forms; the connection service validates them and names bad fields. */
    async saveIdp(ticket: SsoTicketRow, form: IdpForm, requestId: string | null): Promise<void> {
      requireSetupTicket(ticket);
      const input = idpInput(form);
      const connection = await connectionOf(ticket);
      await connections.update(actorOf(ticket, requestId), connection.id, input);
      await recordUse(ticket, requestId, 'sso_ticket.saved', { connectionId: connection.id, changed: [`idp.${form.source}`] });
    },

    /** Overrides attribute names; an empty field restores the provider's default. */
    async saveMapping(ticket: SsoTicketRow, values: Readonly<Record<string, string | undefined>>, requestId: string | null): Promise<void> {
      requireSetupTicket(ticket);
      if (!has(ticket, 'attribute-mapping')) throw fieldError('attributeMapping', 'cannot be changed through this setup link');
      const mapping: AttributeMappingInput = {};
      for (const key of MAPPING_KEYS) {
        const value = values[`attributeMapping.${key}`];
        if (value !== undefined) mapping[key] = value.trim() === '' ? null : value.trim();
      }
      const connection = await connectionOf(ticket);
      await connections.update(actorOf(ticket, requestId), connection.id, { attributeMapping: mapping });
      await recordUse(ticket, requestId, 'sso_ticket.saved', {
        connectionId: connection.id,
        changed: Object.keys(mapping).map((k) => `attributeMapping.${k}`),
      });
    },

    /** Starts a real sign-in through the connection, enabled or not; its result comes back to the ticket. */
    async startTest(ticket: SsoTicketRow, requestId: string | null): Promise<UpstreamHop> {
      requireSetupTicket(ticket);
      return startTestSignIn({ ...deps, publicUrl: deps.config.publicUrl }, ticket, requestId);
    },

    /** The ticket a test flow belongs to (its result page finds the session cookie by it). */
    async ticketOfTestFlow(flowId: string): Promise<SsoTicketRow | undefined> {
      return findTicketOfTestFlow(db, flowId);
    },

    /** The ticket's test flow `flowId` and its result. */
    async testResult(ticket: SsoTicketRow, flowId: string): Promise<TestSignIn | undefined> {
      return findTestSignIn(db, ticket, flowId);
    },

    /** The Email domains step (policies optional and required): add, check now, remove. */
    async addDomain(ticket: SsoTicketRow, raw: string, requestId: string | null): Promise<void> {
      await domainStep.add(domainRequest(ticket, requestId), raw);
    },
    async checkDomain(ticket: SsoTicketRow, raw: string, requestId: string | null): Promise<void> {
      await domainStep.check(domainRequest(ticket, requestId), raw);
    },
    async removeDomain(ticket: SsoTicketRow, raw: string, requestId: string | null): Promise<void> {
      await domainStep.remove(domainRequest(ticket, requestId), raw);
    },

    /**
     * Enables the connection, claims the chosen domains for the organization and completes the
     * ticket. Only after a successful test sign-in of the settings as they are now: a connection
     * that cannot sign anyone in must not go live for a whole company.
     */
    async activate(ticket: SsoTicketRow, chosenDomains: readonly string[], requestId: string | null): Promise<void> {
      requireSetupTicket(ticket);
      const actor = actorOf(ticket, requestId);
      const view = await readSetupView(db, ticket, await connectionOf(ticket));
      const lastTest = view.lastTest;
      if (lastTest === null || !lastTest.ok || !lastTest.current) {
        throw fieldError(
          'activate',
          'needs a successful test sign-in with the settings as they are now: run the test sign-in (step 4) first',
        );
      }
      const offered = has(ticket, 'domains') && !hasDomainsStep(ticket) ? view.domains : [];
      // Policy none: the chosen domains of the ticket's list, claimed manual now. Otherwise the domains
      // entered on the page, already claimed by DNS: under required each must be verified first.
      const claims = offered.filter((d) => d.state === 'claimable' && chosenDomains.includes(d.domain)).map((d) => d.domain);
      const entered = hasDomainsStep(ticket) ? view.enteredDomains : [];
      requireEnteredVerified(ticket, entered);
      const domainsClaimed = [...claims, ...entered.filter((d) => d.claim !== null).map((d) => d.domain)];
      if (!view.connection.enabled) await connections.update(actor, view.connection.id, { enabled: true });
      const now = clock();
      const claimedMeanwhile = (domain: string, cause?: unknown) =>
        new AppError(
          'conflict',
          `${domain} was claimed by another organization meanwhile`,
          [{ field: 'domains', message: `${domain} belongs to another organization` }],
          { cause },
        );
      await db.transaction().execute(async (trx) => {
        if ((await updateOpenTicket(trx, ticket.id, now, { completed_at: now })) === undefined) throw noLongerOpen();
        const taken = await domainHeldElsewhere(trx, claims, ticket.organization_id);
        if (taken !== undefined) throw claimedMeanwhile(taken);
        try {
          await claimDomains(trx, ticket.organization_id, claims, now, ticket.use_for_discovery);
        } catch (error) {
          // Another organization's verification committed between the check above and this insert.
          if (isUniqueViolation(error, VERIFIED_DOMAIN_INDEX)) throw claimedMeanwhile(claims.join(', '), error);
          throw error;
        }
        const summary = {
          ticketId: ticket.id,
          connectionId: view.connection.id,
          domainsClaimed,
          testFlowId: lastTest.flowId,
        };
        await recordEvent(trx, { now, random }, actor, { type: 'sso_ticket.completed', organizationId: ticket.organization_id, summary });
      });
    },
  };
}

/** The setup service: what the hosted setup page can do with a ticket. */
export type SetupService = ReturnType<typeof createSetupService>;

/** The connection change a posted IdP form asks for; missing required fields are a 400 naming each. */
function idpInput(form: IdpForm): UpdateConnectionBody {
  const missing: FieldProblem[] = [];
  const need = (field: string): string => {
    const value = form.values[field]?.trim();
    if (!value) missing.push({ field, message: 'is required' });
    return value ?? '';
  };
  let input: UpdateConnectionBody;
  switch (form.source) {
    case 'url':
      input = { saml: { metadataUrl: need('saml.metadataUrl') } };
      break;
    case 'xml':
      input = { saml: { metadataXml: need('saml.metadataXml') } };
      break;
    case 'fields': {
      const binding = form.values['saml.ssoBinding'] === 'post' ? 'post' : 'redirect';
      input = {
        saml: {
          idpEntityId: need('saml.idpEntityId'),
          ssoUrl: need('saml.ssoUrl'),
          ssoBinding: binding,
          certificates: [need('saml.certificates')],
        },
      };
      break;
    }
    case 'oidc': {
      const secret = form.values['oidc.clientSecret']?.trim();
      // A blank secret keeps the stored one: secrets are never shown back, so the field is always empty.
      input = { oidc: { issuer: need('oidc.issuer'), clientId: need('oidc.clientId'), ...(secret ? { clientSecret: secret } : {}) } };
      break;
    }
  }
  const [first] = missing;
  if (first !== undefined) throw new AppError('validation_failed', `${first.field} is required`, missing);
  return input;
}
