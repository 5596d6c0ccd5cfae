import type { ColumnType, Selectable } from 'kysely';
import type { OidcSettings } from '../domain/connections/oidc-config.ts';
import type { AttributeOverrides } from '../domain/connections/presets.ts';
import type { SamlSettings } from '../domain/connections/saml-config.ts';
import type { Profile } from '../domain/profile.ts';
import type { Provisioning, TicketFeature } from '../domain/tickets/view.ts';

/** JSON columns: written as values, read back as parsed values. */
type Json<T> = ColumnType<T, T | string, T | string>;

export interface OrganizationsTable {
  id: string;
  name: string;
  external_id: string | null;
  created_at: Date;
  updated_at: Date;
}

interface OrganizationDomainsTable {
  domain: string;
  organization_id: string;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  organization_id: string | null;
  token_hash: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface EventsTable {
  id: string;
  type: string;
  organization_id: string | null;
  actor: string | null;
  request_id: string | null;
  summary: Json<Record<string, unknown>>;
  created_at: Date;
}

export interface ConnectionsTable {
  id: string;
  organization_id: string;
  type: 'saml' | 'oidc';
  provider: string;
  name: string;
  enabled: boolean;
  state: 'draft' | 'active';
  /** SAML or OIDC settings as resolveSamlSettings / resolveOidcSettings wrote them, by `type`. */
  settings: Json<SamlSettings | OidcSettings>;
  sealed_secret: string | null;
  attribute_mapping: Json<AttributeOverrides>;
  group_sync: boolean;
  last_used_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface DeploymentKeysTable {
  id: string;
  purpose: string;
  public_pem: string;
  certificate_pem: string | null;
  sealed_private_key: string;
  created_at: Date;
  retired_at: Date | null;
}

interface SamlAssertionsSeenTable {
  connection_id: string;
  assertion_id: string;
  expires_at: Date;
}

export interface ApplicationsTable {
  id: string;
  name: string;
  client_id: string;
  client_secret_hash: string;
  redirect_uris: Json<string[]>;
  default_redirect_uri: string | null;
  organization_ids: Json<string[] | null>;
  created_at: Date;
  updated_at: Date;
}

/** What a test sign-in from a setup page ended with, kept on its flow for the result page. */
export type TestSignInResult =
  { ok: true; profile: Profile; at: string } | { ok: false; code: string; message: string; facts: [string, string][]; at: string };

export interface LoginFlowsTable {
  id: string;
  /** Null for a test sign-in from a setup page (then setup_ticket_id is set). */
  application_id: string | null;
  organization_id: string;
  connection_id: string;
  redirect_uri: string;
  app_state: string | null;
  nonce: string | null;
  scope: string;
  code_challenge: string | null;
  upstream_request_id: string | null;
  sealed_upstream_state: string | null;
  created_at: Date;
  expires_at: Date;
  returned_at: Date | null;
  completed_at: Date | null;
  failure_code: string | null;
  failure_message: string | null;
  setup_ticket_id: string | null;
  /** A test sign-in's outcome as its result page shows it (profile, or the diagnosed failure). */
  test_result: Json<TestSignInResult | null>;
}

export interface AuthorizationCodesTable {
  code_hash: string;
  application_id: string;
  redirect_uri: string;
  code_challenge: string | null;
  nonce: string | null;
  scope: string;
  profile: Json<Profile>;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
}

export interface AccessTokensTable {
  token_hash: string;
  application_id: string;
  code_hash: string;
  scope: string;
  profile: Json<Profile>;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

export interface SsoTicketsTable {
  id: string;
  organization_id: string;
  connection_id: string | null;
  owns_connection: boolean;
  type: string;
  token_hash: string;
  domains: Json<string[]>;
  provisioning: Json<Provisioning>;
  enabled_features: Json<TicketFeature[]>;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  opened_at: Date | null;
  completed_at: Date | null;
  revoked_at: Date | null;
  last_test_flow_id: string | null;
  last_test_at: Date | null;
  last_test_ok: boolean | null;
}

interface SsoTicketSessionsTable {
  secret_hash: string;
  ticket_id: string;
  created_at: Date;
  expires_at: Date;
}

/** The database as Kysely sees it; one entry per table, snake_case as stored. */
export interface Database {
  organizations: OrganizationsTable;
  organization_domains: OrganizationDomainsTable;
  api_keys: ApiKeysTable;
  events: EventsTable;
  connections: ConnectionsTable;
  deployment_keys: DeploymentKeysTable;
  saml_assertions_seen: SamlAssertionsSeenTable;
  applications: ApplicationsTable;
  login_flows: LoginFlowsTable;
  authorization_codes: AuthorizationCodesTable;
  access_tokens: AccessTokensTable;
  sso_tickets: SsoTicketsTable;
  sso_ticket_sessions: SsoTicketSessionsTable;
}

export type OrganizationRow = Selectable<OrganizationsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type EventRow = Selectable<EventsTable>;
export type ConnectionRow = Selectable<ConnectionsTable>;
export type DeploymentKeyRow = Selectable<DeploymentKeysTable>;
export type ApplicationRow = Selectable<ApplicationsTable>;
export type LoginFlowRow = Selectable<LoginFlowsTable>;
export type AuthorizationCodeRow = Selectable<AuthorizationCodesTable>;
export type SsoTicketRow = Selectable<SsoTicketsTable>;
