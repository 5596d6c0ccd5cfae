import { sql, type Kysely } from 'kysely';

/**
 * Webhooks (issue 13): endpoints, one delivery row per event and endpoint, and each attempt. The
 * outbox is the event row itself: `events.dispatched_at` is null until a dispatcher has turned the
 * event into delivery rows, in one transaction with marking it (README, "Webhooks").
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Events recorded before webhooks existed must not be delivered: they get the migration's time.
  // A non-volatile default on a new column is stored once in the catalogue (PostgreSQL ≥ 11), so
  // this does not rewrite the events table; dropping the default then leaves new events null.
  await sql`alter table events add column dispatched_at timestamptz default now()`.execute(db);
  await sql`alter table events alter column dispatched_at drop default`.execute(db);
  // Only undispatched events are in this index: it stays as small as the dispatcher's backlog.
  await sql`create index events_undispatched on events (id) where dispatched_at is null`.execute(db);

  await db.schema
    .createTable('webhook_endpoints')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    // Null: every event type.
    .addColumn('event_types', 'jsonb')
    // No foreign key: an organization's endpoints outlive it, so that they still hear its
    // organization.deleted event and whatever was pending (README, "Webhooks").
    .addColumn('organization_id', 'text')
    .addColumn('enabled', 'boolean', (c) => c.notNull())
    // 'manual', 'gone' (the receiver answered 410) or 'failing' (5 days of failures); null when enabled.
    .addColumn('disabled_reason', 'text')
    .addColumn('disabled_at', 'timestamptz')
    // The first failed attempt since the last success: 5 days of it disables the endpoint.
    .addColumn('failing_since', 'timestamptz')
    // Sealed with the context `webhook_endpoints:<id>`, so `lanyard secrets rotate` re-seals them.
    .addColumn('sealed_secret', 'text', (c) => c.notNull())
    .addColumn('sealed_previous_secret', 'text')
    .addColumn('previous_secret_expires_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhook_endpoints_organization').on('webhook_endpoints').columns(['organization_id', 'id']).execute();

  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('endpoint_id', 'text', (c) => c.notNull().references('webhook_endpoints.id').onDelete('cascade'))
    // No foreign key to events: the exact body is kept here, so a delivery survives its event.
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    .addColumn('event_created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'delivered', 'failed')`))
    .addColumn('attempt_count', 'integer', (c) => c.notNull().defaultTo(0))
    // When a pending delivery is due. A claim moves it to the end of the claim's lease, so a
    // delivery whose sender died becomes due again by itself; null once delivered or failed.
    .addColumn('next_attempt_at', 'timestamptz')
    // Set by the claim, cleared when its outcome is recorded: only the claimer may record it.
    .addColumn('claim_token', 'text')
    .addColumn('last_attempt_at', 'timestamptz')
    .addColumn('delivered_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhook_deliveries_endpoint').on('webhook_deliveries').columns(['endpoint_id', 'id']).execute();
  await sql`create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending'`.execute(db);

  await db.schema
    .createTable('webhook_attempts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('delivery_id', 'text', (c) => c.notNull().references('webhook_deliveries.id').onDelete('cascade'))
    .addColumn('attempted_at', 'timestamptz', (c) => c.notNull())
    // The HTTP status received, or null when there was no answer (then `error` says why).
    .addColumn('status_code', 'integer')
    .addColumn('error', 'text')
    .addColumn('latency_ms', 'integer', (c) => c.notNull())
    // The first 1 KiB of the answer, as text.
    .addColumn('response_body', 'text')
    .execute();
  await db.schema.createIndex('webhook_attempts_delivery').on('webhook_attempts').columns(['delivery_id', 'id']).execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
