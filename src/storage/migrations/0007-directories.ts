import { sql, type Kysely } from 'kysely';

/**
 * Directory sync: each organization's SCIM directories (RFC 7644), the users and groups their IdP
 * provisions, group memberships as rows, and a bounded trace of SCIM requests.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('directories')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('provider', 'text', (c) => c.notNull())
    // `pending` until the first authenticated SCIM request, then `active`.
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('pending', 'active')`))
    // SHA-256 of the bearer token the IdP sends; the token itself is never stored (ARCHITECTURE habit 12).
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('token_expires_at', 'timestamptz')
    // After a rotation the previous token keeps working until previous_token_expires_at (the grace period).
    .addColumn('previous_token_hash', 'text')
    .addColumn('previous_token_expires_at', 'timestamptz')
    // Seconds a new token lives (null: no expiry); applied at creation and at each rotation.
    .addColumn('token_lifetime_seconds', 'integer')
    // Options such as refusing inactive users at login and the customAttributes mapping.
    .addColumn('options', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('last_request_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('directories_organization').on('directories').columns(['organization_id', 'id']).execute();

  await db.schema
    .createTable('directory_users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('directory_id', 'text', (c) => c.notNull().references('directories.id').onDelete('cascade'))
    // Copied from the directory so a login finds "a directory user of this organization" with one indexed query.
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text')
    .addColumn('user_name', 'text', (c) => c.notNull())
    .addColumn('active', 'boolean', (c) => c.notNull())
    // The primary (else work, else first) email, as sent; compared lower-cased.
    .addColumn('email', 'text')
    // Every emails[].value lower-cased, as a JSON array, for `emails.value eq` through a GIN index.
    .addColumn('email_values', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('given_name', 'text')
    .addColumn('family_name', 'text')
    .addColumn('display_name', 'text')
    // The SCIM resource as stored: canonical attribute names, without id, meta, groups or password.
    .addColumn('resource', 'jsonb', (c) => c.notNull())
    // Bumped on every change; meta.version is W/"<version>" (RFC 7644 §3.14).
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  // userName is unique per directory and caseExact=false (RFC 7643 §4.1.1): the index is on lower().
  await db.schema
    .createIndex('directory_users_user_name')
    .unique()
    .on('directory_users')
    .expression(sql`directory_id, lower(user_name)`)
    .execute();
  await db.schema.createIndex('directory_users_directory').on('directory_users').columns(['directory_id', 'id']).execute();
  await db.schema.createIndex('directory_users_external_id').on('directory_users').columns(['directory_id', 'external_id']).execute();
  await db.schema
    .createIndex('directory_users_display_name')
    .on('directory_users')
    .expression(sql`directory_id, lower(display_name)`)
    .execute();
  await db.schema.createIndex('directory_users_email_values').on('directory_users').using('gin').column('email_values').execute();
  // Login lookups (by externalId or NameID, else email) within an organization.
  await db.schema
    .createIndex('directory_users_org_external_id')
    .on('directory_users')
    .columns(['organization_id', 'external_id'])
    .execute();
  await db.schema
    .createIndex('directory_users_org_user_name')
    .on('directory_users')
    .expression(sql`organization_id, lower(user_name)`)
    .execute();
  await db.schema
    .createIndex('directory_users_org_email')
    .on('directory_users')
    .expression(sql`organization_id, lower(email)`)
    .execute();

  await db.schema
    .createTable('directory_groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('directory_id', 'text', (c) => c.notNull().references('directories.id').onDelete('cascade'))
    .addColumn('organization_id', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text')
    // Not unique: Entra ID allows two groups of one name (RFC 7643 §4.2 does not require it either).
    .addColumn('display_name', 'text', (c) => c.notNull())
    // The SCIM resource without id, meta and members (members are rows).
    .addColumn('resource', 'jsonb', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('directory_groups_directory').on('directory_groups').columns(['directory_id', 'id']).execute();
  await db.schema
    .createIndex('directory_groups_display_name')
    .on('directory_groups')
    .expression(sql`directory_id, lower(display_name)`)
    .execute();
  await db.schema.createIndex('directory_groups_external_id').on('directory_groups').columns(['directory_id', 'external_id']).execute();

  // One row per membership, so adding one member is one insert and never rewrites a list.
  await db.schema
    .createTable('directory_group_members')
    .addColumn('group_id', 'text', (c) => c.notNull().references('directory_groups.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('directory_users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('directory_group_members_pkey', ['group_id', 'user_id'])
    .execute();
  await db.schema.createIndex('directory_group_members_user').on('directory_group_members').columns(['user_id', 'group_id']).execute();

  // What the IdP sent and what it was answered, for "Okta says it failed"; no headers, no bodies, no tokens.
  await db.schema
    .createTable('directory_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('directory_id', 'text', (c) => c.notNull().references('directories.id').onDelete('cascade'))
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('scim_type', 'text')
    .addColumn('detail', 'text')
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('user_agent', 'text')
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('directory_requests_directory').on('directory_requests').columns(['directory_id', 'id']).execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
