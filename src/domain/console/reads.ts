import type { Kysely } from 'kysely';
import type { Clock } from '../../crypto/tokens.ts';
import { dailyLoginOutcomes, recentLoginFlows } from '../../storage/login-traces.ts';
import type { Database, LoginFlowRow } from '../../storage/schema.ts';
import type { Actor } from '../actor.ts';
import type { ConnectionService } from '../connections/connections.ts';

const DAY_MS = 86_400_000;

/** One day of a connection's logins. */
export interface DayOutcome {
  readonly day: string;
  readonly succeeded: number;
  readonly failed: number;
}

/** A login flow as the console's trace shows it: when each step happened and how it ended. */
export interface LoginTrace {
  readonly id: string;
  readonly kind: 'login' | 'test';
  readonly applicationId: string | null;
  readonly startedAt: string;
  readonly returnedAt: string | null;
  readonly completedAt: string | null;
  readonly outcome: 'succeeded' | 'failed' | 'pending' | 'abandoned';
  readonly failure: { code: string; message: string; facts: readonly (readonly [string, string])[] } | null;
}

/**
 * What the console reads beyond the API's own resources: login outcomes per day and a connection's
 * login traces. Authorization is the connection service's: a connection the actor may not see is not found.
 */
export function createConsoleReads(deps: { db: Kysely<Database>; clock: Clock; connections: ConnectionService }) {
  const { db, clock, connections } = deps;
  return {
    /** The time pages judge certificate expiry by: the services' clock, not the page's. */
    now: (): Date => clock(),

    /** The last `days` UTC days of each connection, oldest first, days without logins included. */
    async outcomesByDay(connectionIds: readonly string[], days = 7): Promise<Map<string, DayOutcome[]>> {
      const today = new Date(clock().toISOString().slice(0, 10));
      const since = new Date(today.getTime() - (days - 1) * DAY_MS);
      const rows = await dailyLoginOutcomes(db, connectionIds, since);
      const labels = Array.from({ length: days }, (_, i) => new Date(since.getTime() + i * DAY_MS).toISOString().slice(0, 10));
      return new Map(
        connectionIds.map((id) => [
          id,
          labels.map((day) => {
            const row = rows.find((r) => r.connectionId === id && r.day === day);
            return { day, succeeded: row?.succeeded ?? 0, failed: row?.failed ?? 0 };
          }),
        ]),
      );
    },

    /** A connection's recent login flows, newest first; `before` pages back. */
    async traces(actor: Actor, connectionId: string, page: { before?: string | undefined; limit: number }) {
      const connection = await connections.get(actor, connectionId);
      const rows = await recentLoginFlows(db, connection.id, page);
      const now = clock();
      const data = rows.slice(0, page.limit).map((row) => toTrace(row, now));
      return { connection, data, nextBefore: rows.length > page.limit ? (data.at(-1)?.id ?? null) : null };
    },
  };
}

export type ConsoleReads = ReturnType<typeof createConsoleReads>;

function toTrace(row: LoginFlowRow, now: Date): LoginTrace {
  const failed = row.failure_code !== null;
  const outcome = row.completed_at !== null ? (failed ? 'failed' : 'succeeded') : row.expires_at <= now ? 'abandoned' : 'pending';
  return {
    id: row.id,
    kind: row.setup_ticket_id !== null ? 'test' : 'login',
    applicationId: row.application_id,
    startedAt: row.created_at.toISOString(),
    returnedAt: row.returned_at?.toISOString() ?? null,
    completedAt: row.completed_at?.toISOString() ?? null,
    outcome,
    failure: failed ? { code: row.failure_code ?? '', message: row.failure_message ?? '', facts: row.failure_facts ?? [] } : null,
  };
}
