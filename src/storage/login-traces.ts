import { sql, type Kysely } from 'kysely';
import type { Database, LoginFlowRow } from './schema.ts';

/** `limit + 1` login flows of a connection, newest first, for toPage-style paging; `before` is the last id of the previous page. */
export async function recentLoginFlows(
  db: Kysely<Database>,
  connectionId: string,
  page: { before?: string | undefined; limit: number },
): Promise<LoginFlowRow[]> {
  let q = db
    .selectFrom('login_flows')
    .selectAll()
    .where('connection_id', '=', connectionId)
    .orderBy('id', 'desc')
    .limit(page.limit + 1);
  if (page.before !== undefined) q = q.where('id', '<', page.before);
  return q.execute();
}

/** Per connection and UTC day since `since`: the logins that ended, succeeded or failed. */
export async function dailyLoginOutcomes(
  db: Kysely<Database>,
  connectionIds: readonly string[],
  since: Date,
): Promise<{ connectionId: string; day: string; succeeded: number; failed: number }[]> {
  if (connectionIds.length === 0) return [];
  const day = sql<string>`to_char(completed_at at time zone 'UTC', 'YYYY-MM-DD')`;
  const rows = await db
    .selectFrom('login_flows')
    .select([
      'connection_id',
      day.as('day'),
      sql<string>`count(*) filter (where failure_code is null)`.as('succeeded'),
      sql<string>`count(*) filter (where failure_code is not null)`.as('failed'),
    ])
    .where('connection_id', 'in', connectionIds)
    .where('completed_at', '>=', since)
    .groupBy(['connection_id', day])
    .execute();
  return rows.map((r) => ({ connectionId: r.connection_id, day: r.day, succeeded: Number(r.succeeded), failed: Number(r.failed) }));
}
