import { sql, type Kysely } from 'kysely';

/**
 * Sessions and Single Logout (issue 17): one session per login handed to an application, the
 * LogoutRequests seen (replay cache), the logouts Lanyard sent to an IdP and awaits the answer of,
 * and the applications' logout URLs (OpenID Connect RP-Initiated Logout 1.0, Back-Channel Logout 1.0).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sessions')
    // `ses_…`: the `sid` claim of the id_token and of the logout_token.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('connection_id', 'text', (c) => c.notNull().references('connections.id').onDelete('cascade'))
    .addColumn('application_id', 'text', (c) => c.notNull().references('applications.id').onDelete('cascade'))
    // The `sub` the application received, for its logout_token.
    .addColumn('subject', 'text', (c) => c.notNull())
    // SAML: the NameID exactly as the IdP sent it, with its qualifiers (core §2.2.2), and the SessionIndex.
    .addColumn('name_id', 'text')
    .addColumn('name_id_format', 'text')
    .addColumn('name_qualifier', 'text')
    .addColumn('sp_name_qualifier', 'text')
    .addColumn('session_index', 'text')
    // OIDC: the upstream provider's `sid` claim, if it sent one.
    .addColumn('upstream_sid', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ended_at', 'timestamptz')
    // 'app', 'idp' or 'expiry'.
    .addColumn('ended_by', 'text')
    .execute();
  await sql`create index sessions_saml_subject on sessions (connection_id, name_id) where ended_at is null`.execute(db);

  await db.schema
    .createTable('saml_logout_requests_seen')
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('saml_logout_requests_seen_pkey', ['connection_id', 'request_id'])
    .execute();

  // An app-initiated logout sent on to the IdP: single use, bound to the LogoutRequest's ID.
  await db.schema
    .createTable('logout_flows')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('connection_id', 'text', (c) => c.notNull().references('connections.id').onDelete('cascade'))
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('post_logout_redirect_uri', 'text')
    .addColumn('state', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('returned_at', 'timestamptz')
    .execute();

  // One Back-Channel Logout owed to an application, written with the session's end (an outbox):
  // tried at once, then retried on the webhook schedule by any instance that claims it.
  await db.schema
    .createTable('backchannel_logouts')
    // A session ends once, so it owes its application at most one.
    .addColumn('session_id', 'text', (c) => c.primaryKey().references('sessions.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'delivered', 'failed')`))
    .addColumn('attempt_count', 'integer', (c) => c.notNull().defaultTo(0))
    // When a pending one is due; a claim moves it to the end of its lease. Null once delivered or failed.
    .addColumn('next_attempt_at', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('delivered_at', 'timestamptz')
    .execute();
  await sql`create index backchannel_logouts_due on backchannel_logouts (next_attempt_at) where status = 'pending'`.execute(db);

  await db.schema
    .alterTable('applications')
    .addColumn('post_logout_redirect_uris', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .execute();
  await db.schema.alterTable('applications').addColumn('backchannel_logout_uri', 'text').execute();
  await db.schema.alterTable('authorization_codes').addColumn('session_id', 'text').execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
