import type { Kysely } from 'kysely';
import type { Config } from '../../config.ts';
import { hashToken, newId, randomToken, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import { decodeCursor, toPage, type Page } from '../../storage/pagination.ts';
import type { Database, SsoTicketRow } from '../../storage/schema.ts';
import { domainHeldElsewhere, organizationExists } from '../../storage/organizations.ts';
import { deleteTicketSessions, findTicket, insertTicket, listTickets, revokeTicket } from '../../storage/tickets.ts';
import type { CreateTicketBody, ListTicketsQuery } from '../../http/schemas/tickets.ts';
import { canSee, type Actor } from '../actor.ts';
import type { Connection, ConnectionService } from '../connections/connections.ts';
import { fieldError } from '../connections/input-checks.ts';
import { AppError, notFound } from '../errors.ts';
import { recordEvent } from '../events/events.ts';
import { isConsumerDomain } from '../domains/consumer-domains.ts';
import { normalizeDomains } from '../organizations/domains.ts';
import { MAX_TICKET_TTL_SECONDS, providerOfType, RENEWAL_TICKET, TICKET_FEATURES, toTicket, type Ticket } from './view.ts';

export type { Ticket } from './view.ts';

/** What the ticket service uses: the connection service creates and checks the connection a ticket sets up. */
export interface TicketServiceDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly config: Pick<Config, 'publicUrl'>;
  readonly connections: Pick<ConnectionService, 'create' | 'get' | 'update' | 'delete'>;
}

/** A consumer mail domain cannot route logins (anyone has an address there), as for the domains resource. */
function requireDiscoverable(domains: readonly string[], useForDiscovery: boolean): void {
  if (!useForDiscovery) return;
  const index = domains.findIndex(isConsumerDomain);
  if (index >= 0)
    throw fieldError(`domains.${index}`, `is a consumer mail domain (${domains[index]}): offer it with useForDiscovery false`);
}

/** The URL of a setup page; the token is shown once, inside it. */
function ticketUrl(publicUrl: string, token: string): string {
  return `${publicUrl}/setup/${token}`;
}

/**
 * Setup tickets through the management API: a link for a customer's IT admin to configure one
 * connection of one organization. Only the hash of the link's token is stored.
 */
export function createTicketService(deps: TicketServiceDeps) {
  const { db, clock, random, config, connections } = deps;

  async function requireOrganization(actor: Actor, organizationId: string): Promise<void> {
    if (!(await organizationExists(db, organizationId)) || !canSee(actor, organizationId)) throw notFound('organization');
  }

  async function loadVisible(actor: Actor, id: string): Promise<SsoTicketRow> {
    const row = await findTicket(db, id);
    if (row === undefined || !canSee(actor, row.organization_id)) throw notFound('ticket');
    return row;
  }

  /** A domain another organization holds cannot be offered to this one's admin. */
  async function requireDomainsFree(organizationId: string, domains: string[]): Promise<void> {
    const taken = await domainHeldElsewhere(db, domains, organizationId);
    if (taken !== undefined)
      throw new AppError('conflict', `domain ${taken} belongs to another organization`, [
        { field: `domains.${domains.indexOf(taken)}`, message: 'already taken' },
      ]);
  }

  /** The connection `connectionId` names, if it is one of this organization's; any other is a 404 naming the field. */
  async function namedConnection(actor: Actor, organizationId: string, connectionId: string): Promise<Connection> {
    const unknown = () =>
      new AppError('not_found', 'connection not found', [{ field: 'connectionId', message: 'no such connection in this organization' }]);
    let connection: Connection;
    try {
      connection = await connections.get(actor, connectionId);
    } catch (error) {
      if (error instanceof AppError && error.code === 'not_found') throw unknown();
      throw error;
    }
    // Another organization's connection reads exactly like an unknown one.
    if (connection.organizationId !== organizationId) throw unknown();
    return connection;
  }

  /**
   * A certificate-renewal ticket renews one existing SAML connection that has IdP values, and only
   * its certificates: what a setup ticket would also offer (domains, provisioning, page parts) is refused.
   */
  async function renewedConnection(actor: Actor, organizationId: string, input: CreateTicketBody): Promise<Connection> {
    for (const field of ['domains', 'provisioning', 'enabledFeatures'] as const) {
      if (input[field] !== undefined) throw fieldError(field, `is not for ${RENEWAL_TICKET} tickets, which change only certificates`);
    }
    if (input.connectionId === undefined) throw fieldError('connectionId', `is required for ${RENEWAL_TICKET} tickets`);
    const connection = await namedConnection(actor, organizationId, input.connectionId);
    if (connection.type !== 'saml')
      throw fieldError('connectionId', `must name a SAML connection: ${connection.id} is an ${connection.type.toUpperCase()} connection`);
    if (connection.saml === null || connection.saml.certificates.length === 0 || connection.saml.idpEntityId === null)
      throw fieldError('connectionId', `names a connection without IdP values yet: send a ${connection.type} setup ticket instead`);
    return connection;
  }

  /** The connection the ticket edits: the one named (same organization, matching type), or a new draft. */
  async function connectionFor(
    actor: Actor,
    organizationId: string,
    input: CreateTicketBody,
  ): Promise<{ connection: Connection; owned: boolean }> {
    const provider = providerOfType(input.type);
    if (input.type === RENEWAL_TICKET) return { connection: await renewedConnection(actor, organizationId, input), owned: false };
    if (input.connectionId === undefined) {
      const type = input.type === 'oidc' ? 'oidc' : 'saml';
      const connection = await connections.create(actor, {
        organizationId,
        type,
        provider,
        groupSync: input.provisioning?.groups ?? false,
      });
      return { connection, owned: true };
    }
    let connection = await namedConnection(actor, organizationId, input.connectionId);
    if ((input.type === 'saml' || input.type === 'oidc') && connection.type !== input.type) {
      throw fieldError('type', `is ${input.type}, but connection ${connection.id} is a ${connection.type} connection`);
    }
    // A draft takes the provider the vendor names; a live connection keeps its own until the admin changes it.
    if (provider !== 'generic' && provider !== connection.provider && !connection.enabled) {
      connection = await connections.update(actor, connection.id, { provider });
    }
    return { connection, owned: false };
  }

  return {
    /** Creates a ticket (and, without connectionId, the draft connection it sets up); the answer alone holds the URL. */
    async create(actor: Actor, organizationId: string, input: CreateTicketBody): Promise<Ticket> {
      const ttl = input.ttlSeconds === undefined || input.ttlSeconds === 0 ? MAX_TICKET_TTL_SECONDS : input.ttlSeconds;
      if (!Number.isInteger(ttl) || ttl < 0 || ttl > MAX_TICKET_TTL_SECONDS)
        throw fieldError('ttlSeconds', `must be an integer from 0 to ${MAX_TICKET_TTL_SECONDS}`);
      await requireOrganization(actor, organizationId);
      const domains = normalizeDomains(input.domains ?? []);
      const useForDiscovery = input.useForDiscovery ?? true;
      requireDiscoverable(domains, useForDiscovery);
      await requireDomainsFree(organizationId, domains);
      const features = input.type === RENEWAL_TICKET ? [] : [...new Set(input.enabledFeatures ?? TICKET_FEATURES)];
      const { connection, owned } = await connectionFor(actor, organizationId, input);
      // 256 random bits; only the hash is kept, so the URL cannot be shown again or read from a backup.
      const token = randomToken(random, 32);
      const now = clock();
      const id = newId('tkt', now, random);
      try {
        const row = await db.transaction().execute(async (trx) => {
          const inserted = await insertTicket(trx, {
            id,
            organization_id: organizationId,
            connection_id: connection.id,
            owns_connection: owned,
            type: input.type,
            token_hash: hashToken(token),
            domains,
            provisioning: { ...(input.provisioning ?? {}) },
            enabled_features: features,
            domain_verification: input.domainVerification ?? 'required',
            use_for_discovery: useForDiscovery,
            created_by: actor.id,
            created_at: now,
            expires_at: new Date(now.getTime() + ttl * 1000),
          });
          const summary = {
            ticketId: id,
            connectionId: connection.id,
            connectionCreated: owned,
            type: input.type,
            expiresAt: inserted.expires_at.toISOString(),
            domains,
            domainVerification: inserted.domain_verification,
            useForDiscovery: inserted.use_for_discovery,
          };
          await recordEvent(trx, { now, random }, actor, { type: 'sso_ticket.created', organizationId, summary });
          return inserted;
        });
        return { ...toTicket(row, now), ticketUrl: ticketUrl(config.publicUrl, token) };
      } catch (error) {
        // Leave no orphan draft behind a ticket that was never stored.
        if (owned) await connections.delete(actor, connection.id).catch(() => undefined);
        throw error;
      }
    },

    async get(actor: Actor, id: string): Promise<Ticket> {
      return toTicket(await loadVisible(actor, id), clock());
    },

    /** One organization's tickets in creation order (the console's: newest first), optionally of one status. */
    async list(
      actor: Actor,
      organizationId: string,
      query: ListTicketsQuery,
      order: { newestFirst?: boolean } = {},
    ): Promise<Page<Ticket>> {
      const after = decodeCursor(query.cursor);
      await requireOrganization(actor, organizationId);
      const now = clock();
      const rows = await listTickets(db, { organizationId, status: query.status, now, after, limit: query.limit, ...order });
      return toPage(rows, query.limit, (row) => toTicket(row, now));
    },

    /**
     * Revokes the link at once: its page and every form on it stop working, on every instance.
     * Revoking twice is not an error. The connection is left as it is.
     */
    async revoke(actor: Actor, id: string): Promise<void> {
      const row = await loadVisible(actor, id);
      const now = clock();
      await db.transaction().execute(async (trx) => {
        if (!(await revokeTicket(trx, id, now))) return;
        await deleteTicketSessions(trx, id);
        await recordEvent(trx, { now, random }, actor, {
          type: 'sso_ticket.revoked',
          organizationId: row.organization_id,
          summary: { ticketId: id, connectionId: row.connection_id },
        });
      });
    },
  };
}

/** The ticket service: create, read, list and revoke setup tickets. */
export type TicketService = ReturnType<typeof createTicketService>;
