import { sql, type Insertable, type Kysely, type Updateable } from 'kysely';
import type {
  Database,
  EventRow,
  WebhookAttemptRow,
  WebhookAttemptsTable,
  WebhookDeliveriesTable,
  WebhookDeliveryRow,
  WebhookEndpointRow,
  WebhookEndpointsTable,
} from './schema.ts';

// --- Endpoints -------------------------------------------------------------------------------

/** Inserts one endpoint; `event_types` takes a value and is serialised here. */
export async function insertEndpoint(db: Kysely<Database>, row: Insertable<WebhookEndpointsTable>): Promise<WebhookEndpointRow> {
  return db
    .insertInto('webhook_endpoints')
    .values({ ...row, event_types: JSON.stringify(row.event_types ?? null) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** One endpoint by id, whoever owns it (callers check visibility). */
export async function findEndpoint(db: Kysely<Database>, id: string): Promise<WebhookEndpointRow | undefined> {
  return db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
}

/** `limit + 1` endpoints in id order; `organizationId` confines them to one organization's. */
export async function listEndpoints(
  db: Kysely<Database>,
  filter: { organizationId?: string | undefined; after?: string | undefined; limit: number },
): Promise<WebhookEndpointRow[]> {
  let q = db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .orderBy('id')
    .limit(filter.limit + 1);
  if (filter.organizationId !== undefined) q = q.where('organization_id', '=', filter.organizationId);
  if (filter.after !== undefined) q = q.where('id', '>', filter.after);
  return q.execute();
}

/** Changes an endpoint; undefined when it is gone. */
export async function updateEndpoint(
  db: Kysely<Database>,
  id: string,
  patch: Updateable<WebhookEndpointsTable>,
): Promise<WebhookEndpointRow | undefined> {
  const values = patch.event_types === undefined ? patch : { ...patch, event_types: JSON.stringify(patch.event_types) };
  return db.updateTable('webhook_endpoints').set(values).where('id', '=', id).returningAll().executeTakeFirst();
}

/** Deletes an endpoint; its deliveries and their attempts go with it (cascade). */
export async function deleteEndpoint(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('webhook_endpoints').where('id', '=', id).execute();
}

/** Makes every pending delivery of an endpoint due now (when it is re-enabled). */
export async function makePendingDueNow(db: Kysely<Database>, endpointId: string, now: Date): Promise<number> {
  const result = await db
    .updateTable('webhook_deliveries')
    .set({ next_attempt_at: now, claim_token: null })
    .where('endpoint_id', '=', endpointId)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

// --- Dispatch: events into deliveries --------------------------------------------------------

/**
 * Locks up to `limit` undispatched events, oldest first, skipping those another dispatcher holds
 * (FOR NO KEY UPDATE: the row is about to change, but not its key). The partial index
 * events_undispatched makes this read only the backlog.
 */
export async function claimUndispatchedEvents(trx: Kysely<Database>, limit: number): Promise<EventRow[]> {
  return trx
    .selectFrom('events')
    .selectAll()
    .where('dispatched_at', 'is', null)
    .orderBy('id')
    .limit(limit)
    .forNoKeyUpdate()
    .skipLocked()
    .execute();
}

/**
 * The enabled endpoints, locked FOR KEY SHARE until the dispatch commits, so that one deleted
 * meanwhile waits instead of failing the dispatch's inserts on their foreign key.
 */
export async function lockEnabledEndpoints(
  trx: Kysely<Database>,
): Promise<Pick<WebhookEndpointRow, 'id' | 'organization_id' | 'event_types' | 'created_at'>[]> {
  return trx
    .selectFrom('webhook_endpoints')
    .select(['id', 'organization_id', 'event_types', 'created_at'])
    .where('enabled', '=', true)
    .forKeyShare()
    .execute();
}

/** Inserts deliveries, in chunks that stay under PostgreSQL's bind parameter limit. */
export async function insertDeliveries(trx: Kysely<Database>, rows: Insertable<WebhookDeliveriesTable>[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 1000)
    await trx
      .insertInto('webhook_deliveries')
      .values(rows.slice(i, i + 1000))
      .execute();
}

/** Marks events dispatched. */
export async function markEventsDispatched(trx: Kysely<Database>, ids: readonly string[], now: Date): Promise<void> {
  if (ids.length === 0) return;
  await trx
    .updateTable('events')
    .set({ dispatched_at: now })
    .where('id', 'in', [...ids])
    .execute();
}

// --- Delivery: claims, attempts, outcomes ----------------------------------------------------

/** A claimed delivery with what sending it needs from its endpoint. */
export type ClaimedDelivery = Pick<
  WebhookDeliveryRow,
  'id' | 'endpoint_id' | 'event_id' | 'payload' | 'attempt_count' | 'event_created_at'
>;

/**
 * Claims up to `limit` due deliveries of enabled endpoints, skipping rows another deliverer is
 * claiming at this instant. A claim stamps `token` and moves `next_attempt_at` to `leaseUntil`:
 * a sender that dies (kill -9) simply lets the delivery fall due again when the lease ends.
 */
export async function claimDueDeliveries(
  db: Kysely<Database>,
  claim: { now: Date; leaseUntil: Date; token: string; limit: number },
): Promise<ClaimedDelivery[]> {
  return db
    .updateTable('webhook_deliveries')
    .set({ next_attempt_at: claim.leaseUntil, claim_token: claim.token })
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
        .select('d.id')
        .where('d.status', '=', 'pending')
        .where('d.next_attempt_at', '<=', claim.now)
        .where('e.enabled', '=', true)
        .orderBy('d.next_attempt_at')
        .limit(claim.limit)
        .forNoKeyUpdate('d')
        .skipLocked(),
    )
    .returning(['id', 'endpoint_id', 'event_id', 'payload', 'attempt_count', 'event_created_at'])
    .execute();
}

/** Endpoints by id, with their sealed secrets, for sending. */
export async function findEndpoints(db: Kysely<Database>, ids: readonly string[]): Promise<WebhookEndpointRow[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('id', 'in', [...ids])
    .execute();
}

/** The outcome of one attempt, to record against the claim that made it. */
export interface AttemptRecord {
  readonly deliveryId: string;
  readonly token: string;
  readonly attempt: Omit<Insertable<WebhookAttemptsTable>, 'delivery_id'>;
  readonly status: 'pending' | 'delivered' | 'failed';
  readonly nextAttemptAt: Date | null;
}

/**
 * Records an attempt and moves its delivery on, only if the claim is still this one's (a claim
 * that outlived its lease may have been taken over: its attempt is kept, the state is not
 * changed). One statement, so it is atomic without a transaction of its own: the common case (a
 * 2xx) costs one round trip. Returns whether the state changed.
 */
export async function recordAttempt(db: Kysely<Database>, record: AttemptRecord): Promise<boolean> {
  const a = record.attempt;
  const delivered = record.status === 'delivered' ? a.attempted_at : null;
  const { rows } = await sql<{ moved: number }>`
    with moved as (
      update webhook_deliveries
         set status = ${record.status}, attempt_count = attempt_count + 1, next_attempt_at = ${record.nextAttemptAt},
             claim_token = null, last_attempt_at = ${a.attempted_at}, delivered_at = coalesce(${delivered}::timestamptz, delivered_at)
       where id = ${record.deliveryId} and claim_token = ${record.token}
      returning id)
    insert into webhook_attempts (id, delivery_id, attempted_at, status_code, error, latency_ms, response_body)
    select ${a.id}, id, ${a.attempted_at}, ${a.status_code ?? null}::integer, ${a.error ?? null}, ${a.latency_ms}, ${a.response_body ?? null}
      from webhook_deliveries where id = ${record.deliveryId}
    returning (select count(*) from moved)::int as moved`.execute(db);
  return (rows[0]?.moved ?? 0) > 0;
}

/** Gives claims back without an attempt (shutdown): the deliveries are due again at `now`. */
export async function releaseClaims(db: Kysely<Database>, ids: readonly string[], token: string, now: Date): Promise<void> {
  if (ids.length === 0) return;
  await db
    .updateTable('webhook_deliveries')
    .set({ next_attempt_at: now, claim_token: null })
    .where('id', 'in', [...ids])
    .where('claim_token', '=', token)
    .where('status', '=', 'pending')
    .execute();
}

/** Ends an endpoint's failing streak after a success. */
export async function clearFailingStreak(db: Kysely<Database>, endpointId: string): Promise<void> {
  await db
    .updateTable('webhook_endpoints')
    .set({ failing_since: null })
    .where('id', '=', endpointId)
    .where('failing_since', 'is not', null)
    .execute();
}

/** Starts (or keeps) an endpoint's failing streak; returns when it began, and whether it is enabled. */
export async function extendFailingStreak(
  db: Kysely<Database>,
  endpointId: string,
  now: Date,
): Promise<Pick<WebhookEndpointRow, 'failing_since' | 'enabled' | 'organization_id'> | undefined> {
  return db
    .updateTable('webhook_endpoints')
    .set((eb) => ({ failing_since: eb.fn.coalesce('failing_since', eb.val(now)) }))
    .where('id', '=', endpointId)
    .returning(['failing_since', 'enabled', 'organization_id'])
    .executeTakeFirst();
}

/** Disables an enabled endpoint on Lanyard's own decision; false when it was disabled already. */
export async function disableEndpoint(db: Kysely<Database>, endpointId: string, reason: 'gone' | 'failing', now: Date): Promise<boolean> {
  const result = await db
    .updateTable('webhook_endpoints')
    .set({ enabled: false, disabled_reason: reason, disabled_at: now, updated_at: now })
    .where('id', '=', endpointId)
    .where('enabled', '=', true)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

// --- Reading deliveries ----------------------------------------------------------------------

/** `limit + 1` deliveries of one endpoint, newest first; `before` is the last id of the previous page. */
export async function listDeliveries(
  db: Kysely<Database>,
  filter: { endpointId: string; status?: string | undefined; eventType?: string | undefined; before?: string | undefined; limit: number },
): Promise<WebhookDeliveryRow[]> {
  let q = db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('endpoint_id', '=', filter.endpointId)
    .orderBy('id', 'desc')
    .limit(filter.limit + 1);
  if (filter.status !== undefined) q = q.where('status', '=', filter.status as WebhookDeliveryRow['status']);
  if (filter.eventType !== undefined) q = q.where('event_type', '=', filter.eventType);
  if (filter.before !== undefined) q = q.where('id', '<', filter.before);
  return q.execute();
}

/** Every attempt of these deliveries, oldest first. */
export async function listAttempts(db: Kysely<Database>, deliveryIds: readonly string[]): Promise<WebhookAttemptRow[]> {
  if (deliveryIds.length === 0) return [];
  return db
    .selectFrom('webhook_attempts')
    .selectAll()
    .where('delivery_id', 'in', [...deliveryIds])
    .orderBy('id')
    .execute();
}

/** One delivery and the organization of its endpoint (for visibility). */
export async function findDelivery(
  db: Kysely<Database>,
  id: string,
): Promise<(WebhookDeliveryRow & { endpoint_organization_id: string | null; endpoint_enabled: boolean }) | undefined> {
  return db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
    .selectAll('d')
    .select(['e.organization_id as endpoint_organization_id', 'e.enabled as endpoint_enabled'])
    .where('d.id', '=', id)
    .executeTakeFirst();
}

/**
 * Makes a delivery due now, whatever its status (a manual retry), unless an attempt is in flight
 * (claimed, lease not over): that attempt is the retry. Returns the delivery as it then is.
 */
export async function makeDeliveryDueNow(db: Kysely<Database>, id: string, now: Date): Promise<WebhookDeliveryRow | undefined> {
  await db
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', next_attempt_at: now, claim_token: null })
    .where('id', '=', id)
    .where((eb) => eb.or([eb('claim_token', 'is', null), eb('next_attempt_at', '<=', now)]))
    .execute();
  return db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
}

/** When the oldest pending delivery and the oldest undispatched event were created (the lag). */
export async function oldestBacklog(db: Kysely<Database>): Promise<{ pendingSince: Date | null; undispatchedSince: Date | null }> {
  const { rows } = await sql<{ pending: Date | null; undispatched: Date | null }>`
    select (select min(event_created_at) from webhook_deliveries where status = 'pending') as pending,
           (select created_at from events where dispatched_at is null order by id limit 1) as undispatched`.execute(db);
  return { pendingSince: rows[0]?.pending ?? null, undispatchedSince: rows[0]?.undispatched ?? null };
}
