import type { Insertable, Kysely } from 'kysely';
import type { AccessTokensTable, AuthorizationCodeRow, AuthorizationCodesTable, Database } from './schema.ts';

/** Stores an authorization code (its hash) with the profile it buys. JSON columns go over as text. */
export async function insertAuthorizationCode(db: Kysely<Database>, row: Insertable<AuthorizationCodesTable>): Promise<void> {
  await db
    .insertInto('authorization_codes')
    .values({ ...row, profile: JSON.stringify(row.profile) })
    .execute();
}

/** Uses a code up, once: a second presentation, or an unknown code, takes nothing (RFC 6749 §4.1.2). */
export async function takeAuthorizationCode(db: Kysely<Database>, codeHash: string, now: Date): Promise<AuthorizationCodeRow | undefined> {
  return db
    .updateTable('authorization_codes')
    .set({ used_at: now })
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Revokes every access token a code bought (a code presented twice may have been stolen). */
export async function revokeTokensOfCode(db: Kysely<Database>, codeHash: string, now: Date): Promise<void> {
  await db
    .updateTable('access_tokens')
    .set({ revoked_at: now })
    .where('code_hash', '=', codeHash)
    .where('revoked_at', 'is', null)
    .execute();
}

/** Stores an access token (its hash) with the profile behind it. */
export async function insertAccessToken(db: Kysely<Database>, row: Insertable<AccessTokensTable>): Promise<void> {
  await db
    .insertInto('access_tokens')
    .values({ ...row, profile: JSON.stringify(row.profile) })
    .execute();
}

/** The access token with this hash, whatever its state (callers check expiry and revocation). */
export async function findAccessToken(db: Kysely<Database>, tokenHash: string) {
  return db.selectFrom('access_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

/** Revokes one access token (RFC 7009); a token already revoked keeps its first revocation time. */
export async function revokeAccessToken(db: Kysely<Database>, tokenHash: string, now: Date): Promise<void> {
  await db
    .updateTable('access_tokens')
    .set({ revoked_at: now })
    .where('token_hash', '=', tokenHash)
    .where('revoked_at', 'is', null)
    .execute();
}
