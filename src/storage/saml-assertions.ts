import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

/** A SAML assertion that signed someone in, remembered until it expires (SAML profiles §4.1.4.5). */
export interface UsedAssertion {
  connectionId: string;
  assertionId: string;
  expiresAt: Date;
}

/** Remembers an assertion as used; false when it was used before (a replay), on any instance. */
export async function rememberAssertion(db: Kysely<Database>, assertion: UsedAssertion): Promise<boolean> {
  const inserted = await db
    .insertInto('saml_assertions_seen')
    .values({ connection_id: assertion.connectionId, assertion_id: assertion.assertionId, expires_at: assertion.expiresAt })
    .onConflict((c) => c.columns(['connection_id', 'assertion_id']).doNothing())
    .returning('assertion_id')
    .executeTakeFirst();
  return inserted !== undefined;
}

/** Forgets assertions past their expiry: the verifier refuses them anyway. */
export async function purgeExpiredAssertions(db: Kysely<Database>, now: Date): Promise<void> {
  await db.deleteFrom('saml_assertions_seen').where('expires_at', '<', now).execute();
}
