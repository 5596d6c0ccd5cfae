import { sql, type Kysely } from 'kysely';

/** Setup tickets, the browser sessions of their setup pages, and test sign-ins on login flows. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sso_tickets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    // Null once the connection is deleted: the link then has nothing left to set up.
    .addColumn('connection_id', 'text', (c) => c.references('connections.id').onDelete('set null'))
    // True when the ticket created its (draft) connection, so the setup page may replace it when the admin switches protocol.
    .addColumn('owns_connection', 'boolean', (c) => c.notNull())
    // As requested (`saml`, `oidc`, `azure-ad`, `okta`, …): shown back to the vendor unchanged.
    .addColumn('type', 'text', (c) => c.notNull())
    // SHA-256 of the bearer token in the URL; the token itself is never stored (ARCHITECTURE habit 12).
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('domains', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('provisioning', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('enabled_features', 'jsonb', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('opened_at', 'timestamptz')
    .addColumn('completed_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    // The latest test sign-in (its login flow holds the details).
    .addColumn('last_test_flow_id', 'text')
    .addColumn('last_test_at', 'timestamptz')
    .addColumn('last_test_ok', 'boolean')
    .execute();
  await db.schema.createIndex('sso_tickets_organization').on('sso_tickets').columns(['organization_id', 'id']).execute();

  // A browser working on a setup page: the cookie carries a secret whose hash is kept here, bound to one ticket.
  await db.schema
    .createTable('sso_ticket_sessions')
    .addColumn('secret_hash', 'text', (c) => c.primaryKey())
    .addColumn('ticket_id', 'text', (c) => c.notNull().references('sso_tickets.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sso_ticket_sessions_ticket').on('sso_ticket_sessions').column('ticket_id').execute();

  // A test sign-in from a setup page is a real login flow with no application: its result goes to the ticket.
  await db.schema
    .alterTable('login_flows')
    .addColumn('setup_ticket_id', 'text', (c) => c.references('sso_tickets.id').onDelete('cascade'))
    .execute();
  await db.schema.alterTable('login_flows').addColumn('test_result', 'jsonb').execute();
  await db.schema
    .alterTable('login_flows')
    .alterColumn('application_id', (c) => c.dropNotNull())
    .execute();
  await db.schema
    .alterTable('login_flows')
    .addCheckConstraint('login_flows_application_or_ticket', sql`application_id is not null or setup_ticket_id is not null`)
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
