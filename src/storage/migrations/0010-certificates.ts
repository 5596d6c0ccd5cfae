import { sql, type Kysely } from 'kysely';

/**
 * Certificates that never expire in silence (issue 16): the metadata refresh of each connection
 * with a metadata URL as a claimable row, the expiry alerts already sent (one row per subject,
 * certificate and threshold, so that whichever instance notices first sends it and no other does),
 * and the rollover schedule of the deployment's own keys.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('connection_metadata_refreshes')
    .addColumn('connection_id', 'text', (c) => c.primaryKey().references('connections.id').onDelete('cascade'))
    // The URL this row refreshes from; a PATCH that gives another URL starts the schedule again.
    .addColumn('metadata_url', 'text', (c) => c.notNull())
    // When the next refresh is due. A claim moves it to the end of the claim's lease, so a refresh
    // whose instance died becomes due again by itself.
    .addColumn('next_run_at', 'timestamptz', (c) => c.notNull())
    // Set by the claim, cleared when its outcome is recorded: only the claimer may record it.
    .addColumn('claim_token', 'text')
    // Failures in a row since the last success: the backoff grows with it.
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    // HTTP validators of the last document used (RFC 9110 §8.8), sent back as If-None-Match / If-Modified-Since.
    .addColumn('etag', 'text')
    .addColumn('last_modified', 'text')
    .addColumn('last_at', 'timestamptz')
    .addColumn('last_outcome', 'text')
    .addColumn('last_message', 'text')
    .execute();
  await db.schema.createIndex('connection_metadata_refreshes_due').on('connection_metadata_refreshes').column('next_run_at').execute();
  // Connections saved with a metadata URL before this migration are refreshed from now on.
  await sql`insert into connection_metadata_refreshes (connection_id, metadata_url, next_run_at)
    select id, settings->>'metadataUrl', now() from connections where type = 'saml' and settings->>'metadataUrl' is not null`.execute(db);

  await db.schema
    .createTable('certificate_alerts')
    // A connection id, or `deployment:<purpose>` for Lanyard's own certificates.
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('fingerprint_sha256', 'text', (c) => c.notNull())
    // Days before expiry (30, 14, 7, 1), or 0 for "expired".
    .addColumn('threshold_days', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('certificate_alerts_pkey', ['subject', 'fingerprint_sha256', 'threshold_days'])
    .execute();

  // Null: the key signs from its creation (keys made before rollovers existed, and first keys).
  await sql`alter table deployment_keys add column activates_at timestamptz`.execute(db);
  // When the key's activation and retirement events were recorded (once, by whichever instance saw the time pass).
  await sql`alter table deployment_keys add column activation_recorded_at timestamptz`.execute(db);
  await sql`alter table deployment_keys add column retirement_recorded_at timestamptz`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
