import { sql, type Kysely } from 'kysely';
import { preparedStatement } from './prepared-statements.ts';
import type { AuthorizationCodeRow, Database } from './schema.ts';

/**
 * Uses a code up, once, and in the same statement stores the access token it buys for the client
 * it was issued to: a second presentation, or an unknown code, takes nothing (RFC 6749 §4.1.2).
 * The caller checks the rest (redirect URI, PKCE, expiry) and deletes the token of a code it
 * refuses; until then nobody holds the token's value, only its hash is stored.
 */
export async function redeemAuthorizationCode(
  db: Kysely<Database>,
  redemption: { codeHash: string; tokenHash: string; applicationId: string; now: Date; expiresAt: Date },
): Promise<AuthorizationCodeRow | undefined> {
  return (await db.executeQuery(REDEEM(db, redemption))).rows[0];
}

const REDEEM = preparedStatement(
  (db, redemption: { codeHash: string; tokenHash: string; applicationId: string; now: Date; expiresAt: Date }) => {
    const at = (date: Date) => sql<Date>`${date}::timestamptz`;
    return db
      .with('taken', (q) =>
        q
          .updateTable('authorization_codes')
          .set({ used_at: redemption.now })
          .where('code_hash', '=', redemption.codeHash)
          .where('used_at', 'is', null)
          .returningAll(),
      )
      .with('token', (q) =>
        q
          .insertInto('access_tokens')
          .columns(['token_hash', 'application_id', 'code_hash', 'scope', 'profile', 'created_at', 'expires_at'])
          .expression((eb) =>
            eb
              .selectFrom('taken')
              .select([
                sql<string>`${redemption.tokenHash}::text`.as('token_hash'),
                'application_id',
                'code_hash',
                'scope',
                'profile',
                at(redemption.now).as('created_at'),
                at(redemption.expiresAt).as('expires_at'),
              ])
              .where('application_id', '=', redemption.applicationId),
          )
          .returning('token_hash'),
      )
      .selectFrom('taken')
      .selectAll();
  },
);

/** Deletes an access token nobody was given (the token of a code refused after its redemption). */
export async function deleteAccessToken(db: Kysely<Database>, tokenHash: string): Promise<void> {
  await db.deleteFrom('access_tokens').where('token_hash', '=', tokenHash).execute();
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

/** The access token with this hash, whatever its state (callers check expiry and revocation). */
export async function findAccessToken(db: Kysely<Database>, tokenHash: string) {
  return (await db.executeQuery(ACCESS_TOKEN(db, { tokenHash }))).rows[0];
}

const ACCESS_TOKEN = preparedStatement((db, v: { tokenHash: string }) =>
  db.selectFrom('access_tokens').selectAll().where('token_hash', '=', v.tokenHash),
);

/** Revokes one access token (RFC 7009); a token already revoked keeps its first revocation time. */
export async function revokeAccessToken(db: Kysely<Database>, tokenHash: string, now: Date): Promise<void> {
  await db
    .updateTable('access_tokens')
    .set({ revoked_at: now })
    .where('token_hash', '=', tokenHash)
    .where('revoked_at', 'is', null)
    .execute();
}
