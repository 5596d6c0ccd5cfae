import type { Kysely } from 'kysely';

/**
 * App-initiated logout through an upstream OIDC provider (issue 17): the provider's id_token of the
 * login, kept as the `id_token_hint` of its end_session_endpoint (RP-Initiated Logout 1.0 §2).
 * Sealed under the context `sessions:<id>`, so `lanyard secrets rotate` re-seals it too.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('sealed_upstream_id_token', 'text').execute();
}

export async function down(): Promise<void> {
  throw new Error('migrations are forward-only');
}
