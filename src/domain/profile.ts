import { createHash } from 'node:crypto';

/** The normalized user an identity provider vouched for; the same shape for SAML and OIDC. */
export interface Profile {
  /** The IdP's stable subject (SAML NameID, OIDC `sub`). */
  idpId: string;
  email: string | null;
  emailVerified: boolean | null;
  firstName: string | null;
  lastName: string | null;
  groups: string[];
  rawAttributes: Record<string, unknown>;
  organizationId: string;
  connectionId: string;
  connectionType: 'saml' | 'oidc';
  /** The organization's directory user this login is (dusr_…), when there is one. */
  directoryUserId?: string;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * The `sub` Lanyard issues: derived from the organization and the IdP's subject, so it is stable
 * across logins and never collides across organizations — one customer's IdP asserting a NameID
 * equal to another customer's user's yields a different `sub`, not a takeover.
 */
export function subjectFor(profile: Pick<Profile, 'organizationId' | 'idpId'>): string {
  const digest = createHash('sha256').update(`${profile.organizationId}\n${profile.idpId}`).digest();
  let out = '';
  for (let i = 0; i < 26; i++) {
    const bit = i * 5;
    const byte = bit >> 3;
    const value = ((digest.readUInt8(byte) << 8) | (digest[byte + 1] ?? 0)) >> (11 - (bit & 7));
    out += CROCKFORD.charAt(value & 31);
  }
  return `usr_${out}`;
}
