import type { Kysely } from 'kysely';
import { findDirectoryUserForLogin } from '../../storage/directory-users.ts';
import type { Database } from '../../storage/schema.ts';
import type { Profile } from '../profile.ts';
import { err, ok, type Result } from '../result.ts';
import { loginFailure, type LoginFailure } from './failures.ts';

/**
 * Links a verified login to the directory user it is (issue 14, "Linked to login"): a user of a
 * SCIM directory of the same organization, by externalId or userName equal to the IdP's subject,
 * else by email. The profile then carries `directoryUserId` (the id_token's and userinfo's
 * `directory_user_id`). A user the IdP deactivated is refused, unless their directory's
 * `refuseInactiveUsers` is false: deprovisioning must end access even where the IdP still signs in.
 */
export function createDirectoryLink(deps: { readonly db: Kysely<Database> }) {
  return async function linkDirectoryUser(profile: Profile): Promise<Result<Profile, LoginFailure>> {
    const user = await findDirectoryUserForLogin(deps.db, {
      organizationId: profile.organizationId,
      subject: profile.idpId,
      email: profile.email,
    });
    if (user === undefined) return ok(profile);
    if (!user.active && user.refuseInactiveUsers)
      return err(
        loginFailure(
          'user_deactivated',
          "Your account was deactivated in your organization's directory, so you cannot sign in. Ask your IT administrator to reactivate it.",
          [
            ['Directory user', user.id],
            ['Directory', user.directoryId],
          ],
        ),
      );
    return ok({ ...profile, directoryUserId: user.id });
  };
}

export type DirectoryLink = ReturnType<typeof createDirectoryLink>;
