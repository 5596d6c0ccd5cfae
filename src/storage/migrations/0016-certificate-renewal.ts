import type { Kysely } from 'kysely';

/**
 * Certificate renewal tickets (issue 16, item 2): the candidate certificates an IT admin gave on the
 * renewal page, kept on the ticket until applied, and the certificates a test sign-in of that
 * candidate trusts, kept on its login flow, so the test checks the candidate while the live
 * connection keeps trusting what it trusts.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sso_tickets').addColumn('renewal_candidate', 'jsonb').execute();
  await db.schema.alterTable('login_flows').addColumn('trusted_certificates', 'jsonb').execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
