import type { ColumnType, Generated, Selectable } from 'kysely';
import type { CheckResult } from '../domain/domains/verification.ts';
import type { OidcSettings } from '../domain/connections/oidc-config.ts';
import type { AttributeOverrides } from '../domain/connections/presets.ts';
import type { SamlSettings } from '../domain/connections/saml-config.ts';
import type { Profile } from '../domain/profile.ts';
import type { Provisioning, TicketDomainVerification, TicketFeature } from '../domain/tickets/view.ts';

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
  // Migration 0009: a claim with its verification state (src/domain/domains/verification.ts).
  state: ColumnType<'pending' | 'verified' | 'failed', 'pending' | 'verified' | 'failed' | undefined>;
  verification: ColumnType<'dns' | 'manual', 'dns' | 'manual' | undefined>;
  verification_value: ColumnType<string | null, string | null | undefined>;
  use_for_discovery: ColumnType<boolean, boolean | undefined>;
  started_at: ColumnType<Date | null, Date | null | undefined>;
  next_check_at: ColumnType<Date | null, Date | null | undefined>;
  verified_at: ColumnType<Date | null, Date | null | undefined>;
  failed_at: ColumnType<Date | null, Date | null | undefined>;
  last_check: ColumnType<StoredLastCheck | null, string | null | undefined, string | null>;
  created_at: ColumnType<Date, Date | undefined, never>;
}

/** organization_domains.last_check: the LastCheck of verification.ts with its time as ISO text. */
export interface StoredLastCheck {
  readonly at: string;
  readonly result: CheckResult;
}

/** connections.email_domain_policy (migration 0009). */
export type EmailDomainPolicy = 'flag' | 'enforce';

export type OrganizationDomainRow = Selectable<OrganizationDomainsTable>;

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
  /** When the webhook dispatcher turned the event into deliveries; null until then (0006). */
  dispatched_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
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
  email_domain_policy: ColumnType<EmailDomainPolicy, EmailDomainPolicy | undefined>;
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
  /** When the key starts signing; null: since its creation (0010). */
  activates_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  activation_recorded_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  retirement_recorded_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
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
  /** False only with a pkce_exempt_reason (migration 0014). */
  require_pkce: Generated<boolean>;
  pkce_exempt_reason: string | null;
  created_at: Date;
  updated_at: Date;
  /** OpenID Connect RP-Initiated Logout 1.0 §3: where /oauth/logout may send the browser, exact match. */
  post_logout_redirect_uris: Json<string[]>;
  /** OpenID Connect Back-Channel Logout 1.0 §2.2: where logout_tokens are POSTed. */
  backchannel_logout_uri: string | null;
}

/**
 * The new IdP signing certificates an IT admin gave on a certificate-renewal page (migration 0016):
 * where they came from, the PEMs, whether the current ones stay trusted beside them, and when.
 */
export interface RenewalCandidate {
  source: 'certificate' | 'metadataXml' | 'metadataUrl';
  certificates: string[];
  /** The URL the metadata was read from (source metadataUrl), which the connection refreshes from once renewed. */
  metadataUrl: string | null;
  /** Keep trusting the connection's current certificates beside the new ones (a rollover), or replace them. */
  keepCurrent: boolean;
  savedAt: string;
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
  /** The failure page's facts, `[label, value]` pairs (migration 0012; null before it and on success). */
  failure_facts: Json<(readonly [string, string])[] | null>;
  setup_ticket_id: string | null;
  /** A test sign-in's outcome as its result page shows it (profile, or the diagnosed failure). */
  test_result: Json<TestSignInResult | null>;
  /**
   * For a certificate-renewal test sign-in: the certificates its response is checked against instead
   * of the connection's (migration 0016); null for every other flow.
   */
  trusted_certificates: ColumnType<string[] | null, string[] | string | null | undefined, string[] | string | null>;
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
  /** The session the login opened: the id_token's `sid`. */
  session_id: string | null;
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
  /** The directory the setup page's Directory sync step created (migration 0013). */
  directory_id: ColumnType<string | null, string | null | undefined, string | null>;
  /** A certificate-renewal ticket's candidate, until applied (migration 0016). */
  renewal_candidate: ColumnType<RenewalCandidate | null, RenewalCandidate | string | null | undefined, RenewalCandidate | string | null>;
  /** The ticket's domain policy and the domains its admin entered on the page (migration 0017). */
  domain_verification: ColumnType<TicketDomainVerification, TicketDomainVerification | undefined, never>;
  use_for_discovery: ColumnType<boolean, boolean | undefined, never>;
  entered_domains: ColumnType<string[], string[] | string | undefined, string[] | string>;
}

interface SsoTicketSessionsTable {
  secret_hash: string;
  ticket_id: string;
  created_at: Date;
  expires_at: Date;
}

export interface ConsoleLinksTable {
  id: string;
  token_hash: string;
  created_by: string;
  created_at: Date;
  expires_at: Date;
  used_at: Date | null;
}

export interface ConsoleSessionsTable {
  id: string;
  secret_hash: string;
  link_id: string;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  ended_at: Date | null;
}

export interface WebhookEndpointsTable {
  id: string;
  url: string;
  description: string | null;
  /** Null: every event type. */
  event_types: Json<string[] | null>;
  organization_id: string | null;
  enabled: boolean;
  disabled_reason: 'manual' | 'gone' | 'failing' | null;
  disabled_at: Date | null;
  failing_since: Date | null;
  sealed_secret: string;
  sealed_previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface WebhookDeliveriesTable {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  event_created_at: Date;
  /** The exact JSON body sent, the same on every attempt. */
  payload: string;
  status: 'pending' | 'delivered' | 'failed';
  attempt_count: ColumnType<number, number | undefined, number>;
  next_attempt_at: Date | null;
  claim_token: string | null;
  last_attempt_at: Date | null;
  delivered_at: Date | null;
  created_at: Date;
}

export interface WebhookAttemptsTable {
  id: string;
  delivery_id: string;
  attempted_at: Date;
  status_code: number | null;
  error: string | null;
  latency_ms: number;
  response_body: string | null;
}

/** A directory's options: login policy and the customAttributes mapping (name → SCIM attribute path). */
export interface DirectoryOptions {
  refuseInactiveUsers?: boolean;
  customAttributes?: Record<string, string>;
}

export interface DirectoriesTable {
  id: string;
  organization_id: string;
  name: string;
  provider: string;
  state: 'pending' | 'active';
  token_hash: string;
  token_expires_at: Date | null;
  previous_token_hash: string | null;
  previous_token_expires_at: Date | null;
  token_lifetime_seconds: number | null;
  options: Json<DirectoryOptions>;
  last_request_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** A stored SCIM resource: canonical attribute names, no id, meta, members, groups or password. */
type ScimResourceJson = Record<string, unknown>;

export interface DirectoryUsersTable {
  id: string;
  directory_id: string;
  organization_id: string;
  external_id: string | null;
  user_name: string;
  active: boolean;
  email: string | null;
  email_values: Json<string[]>;
  given_name: string | null;
  family_name: string | null;
  display_name: string | null;
  resource: Json<ScimResourceJson>;
  version: number;
  created_at: Date;
  updated_at: Date;
}

export interface DirectoryGroupsTable {
  id: string;
  directory_id: string;
  organization_id: string;
  external_id: string | null;
  display_name: string;
  resource: Json<ScimResourceJson>;
  version: number;
  created_at: Date;
  updated_at: Date;
}

interface DirectoryGroupMembersTable {
  group_id: string;
  user_id: string;
  created_at: Date;
}

export interface DirectoryRequestsTable {
  id: string;
  directory_id: string;
  method: string;
  path: string;
  status: number;
  scim_type: string | null;
  detail: string | null;
  duration_ms: number;
  user_agent: string | null;
  request_id: string;
  created_at: Date;
}

/** The background metadata refresh of one connection with a metadata URL (0010). */
export interface ConnectionMetadataRefreshesTable {
  connection_id: string;
  metadata_url: string;
  next_run_at: Date;
  claim_token: string | null;
  failures: ColumnType<number, number | undefined, number>;
  etag: string | null;
  last_modified: string | null;
  last_at: Date | null;
  last_outcome: string | null;
  last_message: string | null;
}

/** An expiry alert already recorded, once per subject, certificate and threshold (0010). */
export interface CertificateAlertsTable {
  subject: string;
  fingerprint_sha256: string;
  threshold_days: number;
  created_at: Date;
}

/** A login handed to an application (issue 17): what Single Logout needs to find and end it. */
export interface SessionsTable {
  id: string;
  organization_id: string;
  connection_id: string;
  application_id: string;
  subject: string;
  name_id: string | null;
  name_id_format: string | null;
  name_qualifier: string | null;
  sp_name_qualifier: string | null;
  session_index: string | null;
  upstream_sid: string | null;
  /** OIDC: the provider's id_token, sealed (context `sessions:<id>`), the id_token_hint of its end_session_endpoint. */
  sealed_upstream_id_token: string | null;
  created_at: Date;
  expires_at: Date;
  ended_at: Date | null;
  ended_by: 'app' | 'idp' | 'expiry' | null;
}

interface SamlLogoutRequestsSeenTable {
  connection_id: string;
  request_id: string;
  expires_at: Date;
}

export interface LogoutFlowsTable {
  id: string;
  connection_id: string;
  request_id: string;
  post_logout_redirect_uri: string | null;
  state: string | null;
  created_at: Date;
  expires_at: Date;
  returned_at: Date | null;
}

export interface BackchannelLogoutsTable {
  session_id: string;
  status: 'pending' | 'delivered' | 'failed';
  attempt_count: number;
  next_attempt_at: Date | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
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
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  directories: DirectoriesTable;
  directory_users: DirectoryUsersTable;
  directory_groups: DirectoryGroupsTable;
  directory_group_members: DirectoryGroupMembersTable;
  directory_requests: DirectoryRequestsTable;
  connection_metadata_refreshes: ConnectionMetadataRefreshesTable;
  certificate_alerts: CertificateAlertsTable;
  sessions: SessionsTable;
  saml_logout_requests_seen: SamlLogoutRequestsSeenTable;
  logout_flows: LogoutFlowsTable;
  backchannel_logouts: BackchannelLogoutsTable;
  console_links: ConsoleLinksTable;
  console_sessions: ConsoleSessionsTable;
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
export type WebhookEndpointRow = Selectable<WebhookEndpointsTable>;
export type WebhookDeliveryRow = Selectable<WebhookDeliveriesTable>;
export type WebhookAttemptRow = Selectable<WebhookAttemptsTable>;
export type DirectoryRow = Selectable<DirectoriesTable>;
export type DirectoryUserRow = Selectable<DirectoryUsersTable>;
export type DirectoryGroupRow = Selectable<DirectoryGroupsTable>;
export type DirectoryRequestRow = Selectable<DirectoryRequestsTable>;
export type ConnectionMetadataRefreshRow = Selectable<ConnectionMetadataRefreshesTable>;
export type SessionRow = Selectable<SessionsTable>;
export type LogoutFlowRow = Selectable<LogoutFlowsTable>;
export type BackchannelLogoutRow = Selectable<BackchannelLogoutsTable>;
export type ConsoleSessionRow = Selectable<ConsoleSessionsTable>;
