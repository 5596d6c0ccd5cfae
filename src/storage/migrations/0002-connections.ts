import { sql, type Kysely } from 'kysely';

/** SSO connections, the deployment's own key pairs, and the SAML assertion replay cache. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('connections')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull().check(sql`type in ('saml', 'oidc')`))
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('enabled', 'boolean', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('draft', 'active')`))
    // The protocol settings as the API shows them (no secrets): SAML IdP values and options, or OIDC issuer, client id, scopes and discovered endpoints.
    .addColumn('settings', 'jsonb', (c) => c.notNull())
    // Write-only secrets (the OIDC client secret), sealed with AES-256-GCM under LANYARD_SECRET_KEY.
    .addColumn('sealed_secret', 'text')
    .addColumn('attribute_mapping', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('group_sync', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('connections_organization').on('connections').columns(['organization_id', 'id']).execute();

  // One key pair per purpose and deployment (the SAML SP signing/encryption key, the OIDC token signing key).
  await db.schema
    .createTable('deployment_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('public_pem', 'text', (c) => c.notNull())
    .addColumn('certificate_pem', 'text')
    .addColumn('sealed_private_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('retired_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('deployment_keys_purpose').on('deployment_keys').columns(['purpose', 'created_at']).execute();

  // Assertion ids already consumed, kept until the assertion would have expired anyway (SAML profiles §4.1.4.5).
  await db.schema
    .createTable('saml_assertions_seen')
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('assertion_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('saml_assertions_seen_pkey', ['connection_id', 'assertion_id'])
    .execute();
  await db.schema.createIndex('saml_assertions_seen_expiry').on('saml_assertions_seen').column('expires_at').execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
