import { X509Certificate } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Config } from '../../config.ts';
import { parseCertificates, type CertificateInfo } from '../../crypto/certificates.ts';
import type { Clock, RandomBytes } from '../../crypto/tokens.ts';
import type { Lookup } from '../../net/guarded-fetch.ts';
import { findConnection } from '../../storage/connections.ts';
import { findOrganization } from '../../storage/organizations.ts';
import type { ConnectionRow, Database, RenewalCandidate, SsoTicketRow } from '../../storage/schema.ts';
import { updateOpenTicket } from '../../storage/tickets.ts';
import type { Actor } from '../actor.ts';
import type { Connection, ConnectionService } from '../connections/connections.ts';
import { fieldError, requireHttpUrl } from '../connections/input-checks.ts';
import { fetchMetadataUrl } from '../connections/saml-config.ts';
import { samlSettingsOf } from '../connections/view.ts';
import { AppError, notFound } from '../errors.ts';
import { recordEvent } from '../events/events.ts';
import type { LoginMetrics, UpstreamHop, Upstreams } from '../login/ports.ts';
import { parseIdpMetadata } from '../saml/idp-metadata.ts';
import { originOf, readLastTest, type LastTest } from './setup-view.ts';
import { startTestSignIn } from './test-sign-in.ts';
import { RENEWAL_TICKET } from './view.ts';

/** A certificate without its PEM, as the renewal page shows it. */
export type CertificateSummary = Omit<CertificateInfo, 'pem'>;

/** What the renewal page's form posts: where the new certificates come from, and whether the current ones stay. */
export interface RenewalForm {
  source: RenewalCandidate['source'];
  value: string;
  keepCurrent: boolean;
}

/** Everything the certificate-renewal page shows, read once per request. */
export interface RenewalView {
  ticketId: string;
  expiresAt: Date;
  completedAt: Date | null;
  organizationName: string;
  connection: Connection;
  /** The certificates the connection trusts now. */
  current: CertificateSummary[];
  candidate: (Omit<RenewalCandidate, 'certificates'> & { certificates: CertificateSummary[] }) | null;
  /** What the connection will trust once renewed (the candidate, with the current ones when kept). */
  after: CertificateSummary[];
  /** The latest test; `current` when it trusted exactly what the renewal would apply. */
  lastTest: LastTest | null;
  /** Where the test sign-in goes (the page's forms may post there). */
  idpOrigin: string | null;
}

/** What the renewal service uses. */
export interface RenewalServiceDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly lookup: Lookup;
  readonly config: Pick<Config, 'publicUrl' | 'allowPrivateMetadataUrls'>;
  readonly connections: Pick<ConnectionService, 'get' | 'getForLogin' | 'renewCertificates'>;
  readonly upstream: Upstreams;
  readonly loginMetrics: LoginMetrics;
}

const FIELDS: Readonly<Record<RenewalForm['source'], string>> = {
  certificate: 'renewal.certificate',
  metadataXml: 'renewal.metadataXml',
  metadataUrl: 'renewal.metadataUrl',
};

/** True for a certificate-renewal ticket. */
export function isRenewalTicket(ticket: Pick<SsoTicketRow, 'type'>): boolean {
  return ticket.type === RENEWAL_TICKET;
}

const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;
const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((pem) => b.includes(pem));

/**
 * The certificate-renewal page's actions (issue 16, item 2): the IT admin gives the IdP's new
 * signing certificate (PEM) or its metadata (XML, or a URL fetched through the outbound guard),
 * tests a sign-in that trusts exactly what the renewal would apply while the live connection keeps
 * its own trust, then renews: the connection's certificates change, the ticket completes.
 */
export function createRenewalService(deps: RenewalServiceDeps) {
  const { db, clock, random, connections } = deps;
  const actorOf = (ticket: SsoTicketRow, requestId: string | null): Actor => ({
    id: ticket.id,
    organizationId: ticket.organization_id,
    requestId,
  });

  function requireRenewal(ticket: SsoTicketRow): void {
    if (!isRenewalTicket(ticket)) throw new AppError('validation_failed', 'this setup link is not a certificate renewal', []);
  }

  /** The ticket's connection row as stored now (not the login's cache: the renewal compares against it). */
  async function connectionRow(ticket: SsoTicketRow): Promise<{ row: ConnectionRow; pems: string[] }> {
    const row = ticket.connection_id === null ? undefined : await findConnection(db, ticket.connection_id);
    const pems = row === undefined ? undefined : samlSettingsOf(row)?.certificates;
    if (row === undefined || pems === undefined) throw notFound('connection');
    return { row, pems };
  }

  /** What the connection trusts once the candidate is applied (a certificate trusted already is not added twice). */
  function trustAfter(current: readonly string[], candidate: RenewalCandidate): string[] {
    if (!candidate.keepCurrent) return candidate.certificates;
    const known = new Set(current.map(fingerprintOf));
    return [...current, ...candidate.certificates.filter((pem) => !known.has(fingerprintOf(pem)))];
  }

  /** The candidate's certificates (PEM) from the posted form, or a 400/422 naming the field. */
  async function readCandidate(form: RenewalForm, idpEntityId: string): Promise<{ pems: string[]; metadataUrl: string | null }> {
    const field = FIELDS[form.source];
    const value = form.value.trim();
    if (value === '') throw fieldError(field, 'is required');
    if (form.source === 'certificate') {
      const parsed = parseCertificates(value, clock());
      if (!parsed.ok) throw fieldError(field, `is not a usable certificate: ${parsed.error.message}`);
      return { pems: [...new Set(parsed.value.map((c) => c.pem))], metadataUrl: null };
    }
    let xml = value;
    let metadataUrl: string | null = null;
    if (form.source === 'metadataUrl') {
      metadataUrl = requireHttpUrl(value, field);
      const fetched = await fetchMetadataUrl({ url: metadataUrl, allowPrivateAddresses: deps.config.allowPrivateMetadataUrls }, deps);
      if (!fetched.ok)
        throw new AppError('metadata_fetch_failed', `the metadata URL could not be fetched: ${fetched.error.message}`, [
          { field, message: `could not be fetched: ${fetched.error.message}` },
        ]);
      xml = fetched.value.xml;
    }
    // The IdP keeps its entity ID through a key rollover; metadata of another IdP is not a renewal.
    const parsed = parseIdpMetadata(xml, { entityId: idpEntityId });
    if (!parsed.ok) throw fieldError(field, `is not usable: ${parsed.error.message}`);
    return { pems: parsed.value.signingCertificates, metadataUrl };
  }

  /** The latest test of this ticket, current when it trusted exactly `trust` and started after the candidate was saved. */
  async function lastTestOf(ticket: SsoTicketRow, trust: readonly string[] | null): Promise<LastTest | null> {
    const savedAt = ticket.renewal_candidate === null ? Infinity : Date.parse(ticket.renewal_candidate.savedAt);
    return readLastTest(db, ticket, (flow) => {
      const tested = flow.trusted_certificates;
      return trust !== null && tested !== null && sameSet(tested, trust) && flow.created_at.getTime() >= savedAt;
    });
  }

  const describe = (pems: readonly string[]): CertificateSummary[] =>
    pems.flatMap((pem) => {
      const parsed = parseCertificates(pem, clock());
      return parsed.ok ? parsed.value.map(({ pem: _pem, ...info }) => info) : [];
    });

  return {
    async view(ticket: SsoTicketRow): Promise<RenewalView> {
      requireRenewal(ticket);
      const { row, pems } = await connectionRow(ticket);
      const organization = await findOrganization(db, ticket.organization_id);
      if (organization === undefined) throw new Error(`ticket ${ticket.id} outlived its organization`);
      const candidate = ticket.renewal_candidate;
      const trust = candidate === null ? null : trustAfter(pems, candidate);
      const connection = await connections.get(actorOf(ticket, null), row.id);
      return {
        ticketId: ticket.id,
        expiresAt: ticket.expires_at,
        completedAt: ticket.completed_at,
        organizationName: organization.name,
        connection,
        current: describe(pems),
        candidate: candidate === null ? null : { ...candidate, certificates: describe(candidate.certificates) },
        after: trust === null ? [] : describe(trust),
        lastTest: await lastTestOf(ticket, trust),
        idpOrigin: originOf(connection.saml?.ssoUrl),
      };
    },

    /** Keeps the admin's new certificates on the ticket (the connection is not touched) and forgets the last test. */
    async saveCandidate(ticket: SsoTicketRow, form: RenewalForm, requestId: string | null): Promise<void> {
      requireRenewal(ticket);
      const { row } = await connectionRow(ticket);
      const idpEntityId = samlSettingsOf(row)?.idpEntityId;
      if (idpEntityId == null) throw fieldError('renewal', 'the connection has no IdP values to renew');
      const { pems, metadataUrl } = await readCandidate(form, idpEntityId);
      const now = clock();
      const field = FIELDS[form.source];
      const certificates = describe(pems);
      if (certificates.length === 0) throw fieldError(field, 'holds no signing certificate');
      // Trust is the key, not the validity period, but a renewal to certificates that all expired renews nothing.
      if (certificates.every((c) => c.expired))
        throw fieldError(
          field,
          `holds only expired certificates (the last one expired on ${certificates
            .map((c) => c.notAfter)
            .sort()
            .at(-1)})`,
        );
      const candidate: RenewalCandidate = {
        source: form.source,
        certificates: pems,
        metadataUrl,
        keepCurrent: form.keepCurrent,
        savedAt: now.toISOString(),
      };
      const saved = await updateOpenTicket(db, ticket.id, now, {
        renewal_candidate: candidate,
        last_test_flow_id: null,
        last_test_at: null,
        last_test_ok: null,
      });
      if (saved === undefined) throw new AppError('conflict', 'this setup link was revoked, completed or expired meanwhile');
      await recordEvent(db, { now, random }, actorOf(ticket, requestId), {
        type: 'sso_ticket.saved',
        organizationId: ticket.organization_id,
        summary: { ticketId: ticket.id, connectionId: row.id, changed: [field] },
      });
    },

    /** A real sign-in through the connection whose response is checked against what the renewal would apply. */
    async startTest(ticket: SsoTicketRow, requestId: string | null): Promise<UpstreamHop> {
      requireRenewal(ticket);
      const candidate = ticket.renewal_candidate;
      if (candidate === null) throw fieldError('test', 'needs the new certificate or metadata first (step 1)');
      const { pems } = await connectionRow(ticket);
      return startTestSignIn({ ...deps, publicUrl: deps.config.publicUrl }, ticket, requestId, {
        trustedCertificates: trustAfter(pems, candidate),
      });
    },

    /**
     * Applies the candidate: the connection trusts what the last successful test trusted (refused
     * when there is none, or the connection or the candidate changed since), and the ticket
     * completes, in one transaction with the `connection.updated` and `sso_ticket.completed` events.
     */
    async renew(ticket: SsoTicketRow, requestId: string | null): Promise<void> {
      requireRenewal(ticket);
      const candidate = ticket.renewal_candidate;
      if (candidate === null) throw fieldError('renew', 'needs the new certificate or metadata first (step 1)');
      const { row, pems } = await connectionRow(ticket);
      const trust = trustAfter(pems, candidate);
      const lastTest = await lastTestOf(ticket, trust);
      if (lastTest === null || !lastTest.ok || !lastTest.current)
        throw fieldError('renew', 'needs a successful test sign-in with the new certificate as it is now: run the test (step 2) first');
      const actor = actorOf(ticket, requestId);
      const metadataUrl = candidate.source === 'metadataUrl' ? candidate.metadataUrl : null;
      await connections.renewCertificates(
        actor,
        row.id,
        { certificates: trust, metadataUrl, expectedUpdatedAt: row.updated_at },
        async (trx) => {
          const now = clock();
          if ((await updateOpenTicket(trx, ticket.id, now, { completed_at: now })) === undefined)
            throw new AppError('conflict', 'this setup link was revoked, completed or expired meanwhile');
          await recordEvent(trx, { now, random }, actor, {
            type: 'sso_ticket.completed',
            organizationId: ticket.organization_id,
            summary: { ticketId: ticket.id, connectionId: row.id, domainsClaimed: [], testFlowId: lastTest.flowId },
          });
        },
      );
    },
  };
}

/** The renewal service: what a certificate-renewal ticket's page can do. */
export type RenewalService = ReturnType<typeof createRenewalService>;
