import type { Kysely } from 'kysely';
import type { OrganizationDomain } from '../../http/schemas/domains.ts';
import { findLoginFlowById } from '../../storage/login-flows.ts';
import { listDomainClaims } from '../../storage/organization-domains.ts';
import { domainHolders, findOrganization } from '../../storage/organizations.ts';
import type { Database, LoginFlowRow, SsoTicketRow } from '../../storage/schema.ts';
import type { Connection } from '../connections/connections.ts';
import { toDomain } from '../domains/domains.ts';
import { hasDomainsStep } from './setup-domains.ts';
import { choiceFor, guideFor, SETUP_CHOICES, type SetupChoice, type SetupGuide } from './guides.ts';
import { testResultOf } from './test-results.ts';
import type { Provisioning, TicketDomainVerification, TicketFeature } from './view.ts';

/** One attribute (SAML) or claim (OIDC) the IdP should send. */
interface AttributeToSend {
  key: 'email' | 'firstName' | 'lastName' | 'groups' | 'id';
  label: string;
  name: string;
  required: boolean;
}

/** A domain the ticket offers: free to claim, already the organization's, or held by another one. */
interface OfferedDomain {
  domain: string;
  state: 'claimable' | 'yours' | 'taken';
}

/** A domain the admin entered on the page, with the organization's claim of it (null: deleted meanwhile). */
export interface EnteredDomain {
  domain: string;
  claim: OrganizationDomain | null;
}

/** The latest test sign-in, and whether it tested the settings as they are now. */
export interface LastTest {
  flowId: string;
  ok: boolean;
  at: Date;
  /** False once the connection changed after the test started (or the test was of another connection). */
  current: boolean;
  email: string | null;
  code: string | null;
  message: string | null;
}

/** Everything the setup page shows, read once per request. */
export interface SetupView {
  ticketId: string;
  expiresAt: Date;
  completedAt: Date | null;
  features: ReadonlySet<TicketFeature>;
  provisioning: Provisioning;
  organizationName: string;
  connection: Connection;
  choice: SetupChoice;
  choices: readonly SetupChoice[];
  guide: SetupGuide;
  attributes: AttributeToSend[];
  domains: OfferedDomain[];
  /** How the domains claimed through the page are verified, and whether they route logins. */
  /** `step`: the page has the Email domains step (setup-domains.ts). */
  domainPolicy: { verification: TicketDomainVerification; useForDiscovery: boolean; step: boolean };
  /** The domains the admin entered (policies optional and required), in the order entered. */
  enteredDomains: EnteredDomain[];
  lastTest: LastTest | null;
  /** The IdP's values are all there, so a test sign-in can start. */
  readyToTest: boolean;
  /** The origin browsers are sent to for a test sign-in (the page's CSP must let its form lead there). */
  idpOrigin: string | null;
}

const LABELS: Record<AttributeToSend['key'], string> = {
  email: 'Email address',
  firstName: 'First name',
  lastName: 'Last name',
  groups: 'Groups',
  id: 'Stable user ID',
};

/** True when the connection holds every IdP value a sign-in needs. */
function isConnectionComplete(connection: Connection): boolean {
  if (connection.saml !== null)
    return connection.saml.idpEntityId !== null && connection.saml.ssoUrl !== null && connection.saml.certificates.length > 0;
  const oidc = connection.oidc;
  return oidc !== null && oidc.issuer !== null && oidc.clientId !== null && oidc.tokenEndpoint !== null && oidc.clientSecretSet;
}

/** The origin of a URL, or null for none or a malformed one. */
export function originOf(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

function attributesOf(connection: Connection, provisioning: Provisioning): AttributeToSend[] {
  const mapping = connection.attributeMapping;
  const out: AttributeToSend[] = [
    { key: 'email', label: LABELS.email, name: mapping.email, required: true },
    { key: 'firstName', label: LABELS.firstName, name: mapping.firstName, required: false },
    { key: 'lastName', label: LABELS.lastName, name: mapping.lastName, required: false },
  ];
  if (connection.groupSync || provisioning.groups === true)
    out.push({ key: 'groups', label: LABELS.groups, name: mapping.groups, required: provisioning.groups === true });
  if (mapping.id !== undefined) out.push({ key: 'id', label: LABELS.id, name: mapping.id, required: true });
  return out;
}

async function domainsOf(db: Kysely<Database>, ticket: SsoTicketRow): Promise<OfferedDomain[]> {
  const held = await domainHolders(db, ticket.domains);
  return ticket.domains.map((domain) => {
    const owner = held.find((h) => h.domain === domain)?.organization_id;
    return { domain, state: owner === undefined ? 'claimable' : owner === ticket.organization_id ? 'yours' : 'taken' };
  });
}

async function enteredDomainsOf(db: Kysely<Database>, ticket: SsoTicketRow): Promise<EnteredDomain[]> {
  if (ticket.entered_domains.length === 0) return [];
  const claims = await listDomainClaims(db, ticket.organization_id);
  return ticket.entered_domains.map((domain) => {
    const row = claims.find((c) => c.domain === domain);
    return { domain, claim: row === undefined ? null : toDomain(row) };
  });
}

async function lastTestOf(db: Kysely<Database>, ticket: SsoTicketRow, connection: Connection): Promise<LastTest | null> {
  return readLastTest(
    db,
    ticket,
    (flow) => flow.connection_id === connection.id && flow.created_at.getTime() >= Date.parse(connection.updatedAt),
  );
}

/** The ticket's latest test sign-in, `current` as `isCurrent` judges its flow; null before the first. */
export async function readLastTest(
  db: Kysely<Database>,
  ticket: SsoTicketRow,
  isCurrent: (flow: LoginFlowRow) => boolean,
): Promise<LastTest | null> {
  if (ticket.last_test_flow_id === null) return null;
  const flow = await findLoginFlowById(db, ticket.last_test_flow_id);
  const result = flow === undefined ? undefined : testResultOf(flow);
  if (flow === undefined || result === undefined) return null;
  const current = isCurrent(flow);
  return {
    flowId: flow.id,
    ok: result.ok,
    at: new Date(result.at),
    current,
    email: result.ok ? result.profile.email : null,
    code: result.ok ? null : result.code,
    message: result.ok ? null : result.message,
  };
}

/** Reads what the setup page of `ticket` shows, its connection already loaded through the ticket's actor. */
export async function readSetupView(db: Kysely<Database>, ticket: SsoTicketRow, connection: Connection): Promise<SetupView> {
  const organization = await findOrganization(db, ticket.organization_id);
  if (organization === undefined) throw new Error(`ticket ${ticket.id} outlived its organization`);
  const provisioning = ticket.provisioning;
  const choice = choiceFor(connection.provider, connection.type);
  // A ticket made for an existing connection cannot change its protocol: that would be another connection.
  const choices = ticket.owns_connection ? SETUP_CHOICES : SETUP_CHOICES.filter((c) => c.protocol === connection.type);
  return {
    ticketId: ticket.id,
    expiresAt: ticket.expires_at,
    completedAt: ticket.completed_at,
    features: new Set(ticket.enabled_features),
    provisioning,
    organizationName: organization.name,
    connection,
    choice,
    choices,
    guide: guideFor(choice),
    attributes: attributesOf(connection, provisioning),
    domains: await domainsOf(db, ticket),
    domainPolicy: { verification: ticket.domain_verification, useForDiscovery: ticket.use_for_discovery, step: hasDomainsStep(ticket) },
    enteredDomains: await enteredDomainsOf(db, ticket),
    lastTest: await lastTestOf(db, ticket, connection),
    readyToTest: isConnectionComplete(connection),
    idpOrigin: originOf(connection.saml?.ssoUrl ?? connection.oidc?.authorizationEndpoint),
  };
}
