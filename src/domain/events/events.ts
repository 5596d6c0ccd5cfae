import type { Insertable, Kysely } from 'kysely';
import type { RandomBytes } from '../../crypto/tokens.ts';
import { newId } from '../../crypto/tokens.ts';
import type { Database, EventRow, EventsTable } from '../../storage/schema.ts';
import { insertEvent, listEventRows } from '../../storage/events.ts';
import { decodeCursor, toPage, type Page } from '../../storage/pagination.ts';
import type { Event, ListEventsQuery } from '../../http/schemas/events.ts';
import type { Actor } from '../actor.ts';
import type { EventSummary, EventType } from './catalogue.ts';

/** An event to record: a declared type and the summary its catalogue entry describes. */
export interface NewEventInput<T extends EventType> {
  readonly type: T;
  readonly organizationId: string | null;
  /** What happened, without secrets: ids, names, changed field names, failure codes. */
  readonly summary: EventSummary<T>;
}

/** The row of a new event, for a statement that writes it along with its change (storage/login-grants.ts). */
export function newEventRow<T extends EventType>(
  deps: { now: Date; random: RandomBytes },
  actor: Actor,
  input: NewEventInput<T>,
): Insertable<EventsTable> & { id: string } {
  return {
    id: newId('evt', deps.now, deps.random),
    type: input.type,
    organization_id: input.organizationId,
    actor: actor.id,
    request_id: actor.requestId,
    summary: input.summary,
    created_at: deps.now,
  };
}

/**
 * Writes one event and returns its id. Call it with the transaction that makes the change, so a
 * change and its event commit or roll back together.
 */
export async function recordEvent<T extends EventType>(
  db: Kysely<Database>,
  deps: { now: Date; random: RandomBytes },
  actor: Actor,
  input: NewEventInput<T>,
): Promise<string> {
  const row = newEventRow(deps, actor, input);
  await insertEvent(db, row);
  return row.id;
}

/** Events in order of occurrence, filtered, scoped to what the actor may see. */
export async function listEvents(db: Kysely<Database>, actor: Actor, query: ListEventsQuery): Promise<Page<Event>> {
  const after = decodeCursor(query.cursor) ?? query.after;
  if (actor.organizationId !== null && query.organizationId !== undefined && query.organizationId !== actor.organizationId) {
    return { data: [], nextCursor: null };
  }
  const rows = await listEventRows(db, {
    organizationId: actor.organizationId ?? query.organizationId,
    type: query.type,
    after,
    limit: query.limit,
  });
  return toPage(rows, query.limit, toEvent);
}

function toEvent(row: EventRow): Event {
  return {
    id: row.id,
    type: row.type,
    organizationId: row.organization_id,
    actor: row.actor,
    requestId: row.request_id,
    summary: row.summary,
    createdAt: row.created_at.toISOString(),
  };
}
