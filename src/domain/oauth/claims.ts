import { subjectFor, type Profile } from '../profile.ts';

/**
 * The claims an app receives in the id_token and from /oauth/userinfo (snake_case per OIDC). A
 * claim the IdP gave no value for is left out, never sent as null (OIDC core §5.3.2).
 */
export function profileClaims(profile: Profile, scope: ReadonlySet<string>): Record<string, unknown> {
  const claims: Record<string, unknown> = {
    sub: subjectFor(profile),
    idp_id: profile.idpId,
    organization_id: profile.organizationId,
    connection_id: profile.connectionId,
    connection_type: profile.connectionType,
  };
  if (profile.directoryUserId !== undefined) claims.directory_user_id = profile.directoryUserId;
  if (scope.has('email')) {
    claims.email = profile.email;
    claims.email_verified = profile.emailVerified;
  }
  if (scope.has('profile')) {
    claims.given_name = profile.firstName;
    claims.family_name = profile.lastName;
    claims.groups = profile.groups;
    claims.raw_attributes = profile.rawAttributes;
  }
  return Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== null && value !== undefined));
}
