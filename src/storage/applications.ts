import { sql, type Insertable, type Kysely, type Updateable } from 'kysely';
import type { ApplicationRow, ApplicationsTable, Database } from './schema.ts';

// node-postgres turns JS arrays into PostgreSQL arrays, so jsonb values always go over as JSON text.
function serialise<T extends { redirect_uris?: unknown; organization_ids?: unknown; post_logout_redirect_uris?: unknown }>(row: T): T {
  const out = { ...row };
  if (Array.isArray(out.post_logout_redirect_uris)) out.post_logout_redirect_uris = JSON.stringify(out.post_logout_redirect_uris);
  if (Array.isArray(out.redirect_uris)) out.redirect_uris = JSON.stringify(out.redirect_uris);
  if (Array.isArray(out.organization_ids)) out.organization_ids = JSON.stringify(out.organization_ids);
  return out;
}

export async function insertApplication(db: Kysely<Database>, row: Insertable<ApplicationsTable>): Promise<ApplicationRow> {
  return db.insertInto('applications').values(serialise(row)).returningAll().executeTakeFirstOrThrow();
}

export async function findApplication(db: Kysely<Database>, id: string): Promise<ApplicationRow | undefined> {
  return db.selectFrom('applications').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findApplicationByClientId(db: Kysely<Database>, clientId: string): Promise<ApplicationRow | undefined> {
  return db.selectFrom('applications').selectAll().where('client_id', '=', clientId).executeTakeFirst();
}

/** `limit + 1` applications in id (creation) order, for toPage. */
export async function listApplications(
  db: Kysely<Database>,
  filter: { after?: string | undefined; limit: number; organizationId?: string | undefined },
): Promise<ApplicationRow[]> {
  let q = db
    .selectFrom('applications')
    .selectAll()
    .orderBy('id')
    .limit(filter.limit + 1);
  if (filter.after !== undefined) q = q.where('id', '>', filter.after);
  const { organizationId } = filter;
  if (organizationId !== undefined) {
    // Those the organization may sign in to: every organization (null), or a list naming it.
    q = q.where((eb) =>
      eb.or([eb('organization_ids', 'is', null), sql<boolean>`organization_ids @> ${JSON.stringify([organizationId])}::jsonb`]),
    );
  }
  return q.execute();
}

export async function updateApplication(db: Kysely<Database>, id: string, change: Updateable<ApplicationsTable>): Promise<ApplicationRow> {
  return db.updateTable('applications').set(serialise(change)).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
}

export async function deleteApplication(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('applications').where('id', '=', id).execute();
}
