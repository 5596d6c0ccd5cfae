// Email claims the app can trust (issue 15). An IdP vouches for its own users, but any IdP can
// assert any address: one customer's IdP may say `ceo@othercompany.com`. So an email is verified
// only when its domain is a verified domain of the organization whose connection signed the user
// in, and, for an OIDC IdP, the IdP itself said `email_verified` (OIDC Core §5.1). SAML has no
// such claim: there the verified domain is the whole proof.
import { domainToASCII } from 'node:url';
import type { Kysely } from 'kysely';
import { verifiedHolder } from '../../storage/organization-domains.ts';
import { readCacheOf } from '../../storage/read-cache.ts';
import type { Database, EmailDomainPolicy } from '../../storage/schema.ts';
import { loginFailure, type LoginFailure } from './failures.ts';
import type { Profile } from '../profile.ts';

/** The domain of an address as domains are stored (lower-case ASCII), or undefined when it has none. */
function emailDomain(email: string): string | undefined {
  const at = email.lastIndexOf('@');
  const domain = at < 0 ? '' : domainToASCII(email.slice(at + 1).toLowerCase());
  return domain === '' ? undefined : domain;
}

/**
 * Whether the profile's email lies in a verified domain of its organization (false without an
 * email). Asked on every login: who holds a domain is read from memory (storage/read-cache.ts).
 */
export async function isEmailInVerifiedDomain(db: Kysely<Database>, profile: Pick<Profile, 'email' | 'organizationId'>): Promise<boolean> {
  const domain = profile.email === null ? undefined : emailDomain(profile.email);
  if (domain === undefined) return false;
  const holder = await readCacheOf(db).get(`verified-domain:${domain}`, () => verifiedHolder(db, domain));
  return holder === profile.organizationId;
}

/** `emailVerified` as the app receives it: null without an email, else true only as the file comment says. */
export function trustedEmailVerified(profile: Profile, inVerifiedDomain: boolean): boolean | null {
  if (profile.email === null) return null;
  return inVerifiedDomain && (profile.connectionType === 'saml' || profile.emailVerified === true);
}

/**
 * The refusal a connection whose emailDomainPolicy is `enforce` gives a login whose email (or lack
 * of one) lies outside the organization's verified domains; undefined when the login may go on.
 */
export async function emailDomainRefusal(
  db: Kysely<Database>,
  profile: Profile,
  connection: { emailDomainPolicy: EmailDomainPolicy },
): Promise<LoginFailure | undefined> {
  if (connection.emailDomainPolicy !== 'enforce' || (await isEmailInVerifiedDomain(db, profile))) return undefined;
  return loginFailure(
    'email_domain_not_allowed',
    "The identity provider signed in a user whose email is in none of this organization's verified domains, and this connection accepts no other.",
    [['Email the IdP sent', profile.email ?? '(none)']],
  );
}
