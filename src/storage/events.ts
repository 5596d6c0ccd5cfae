import type { Insertable, Kysely } from 'kysely';
import type { Database, EventRow, EventsTable } from './schema.ts';

/** Filters of the event log; `after` is the last event id seen. */
export interface EventListFilter {
  organizationId?: string | undefined;
  type?: string | undefined;
  after?: string | undefined;
  limit: number;
}

/** Writes one event; its summary goes over as JSON text. */
export async function insertEvent(db: Kysely<Database>, row: Insertable<EventsTable>): Promise<void> {
  await db
    .insertInto('events')
    .values({ ...row, summary: JSON.stringify(row.summary) })
    .execute();
}

/** `limit + 1` events in id (occurrence) order, for toPage. */
export async function listEventRows(db: Kysely<Database>, filter: EventListFilter): Promise<EventRow[]> {
  let q = db
    .selectFrom('events')
    .selectAll()
    .orderBy('id')
    .limit(filter.limit + 1);
  if (filter.organizationId !== undefined) q = q.where('organization_id', '=', filter.organizationId);
  if (filter.type !== undefined) q = q.where('type', '=', filter.type);
  if (filter.after !== undefined) q = q.where('id', '>', filter.after);
  return q.execute();
}
