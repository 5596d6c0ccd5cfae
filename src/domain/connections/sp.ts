import type { Kysely } from 'kysely';
import type { Config } from '../../config.ts';
import { generateSelfSignedKeyPair } from '../../crypto/self-signed.ts';
import type { Clock, RandomBytes } from '../../crypto/tokens.ts';
import { findConnection } from '../../storage/connections.ts';
import type { Database } from '../../storage/schema.ts';
import { notFound } from '../errors.ts';
import type { DeploymentKey, DeploymentKeys, GenerateKey, KeySet } from '../keys/deployment-keys.ts';
import { renderSpMetadata } from '../saml/sp-metadata.ts';
import { samlSettingsOf } from './view.ts';

/** The deployment key purpose of the SAML SP key pair (signing AuthnRequests, decrypting assertions). */
export const SAML_SP_KEY_PURPOSE = 'saml-sp';

/** What the IdP admin configures for one SAML connection; derived from the public URL and the id, so stable across updates. */
export interface SpValues {
  entityId: string;
  acsUrl: string;
  metadataUrl: string;
  sloUrl: string;
}

/** The SP values of connection `connectionId`. */
export function spValues(publicUrl: string, connectionId: string): SpValues {
  const base = `${publicUrl}/sso/saml/${encodeURIComponent(connectionId)}`;
  // The entity ID is the metadata URL, so an IdP that fetches metadata by entity ID finds it.
  return { entityId: `${base}/metadata`, acsUrl: `${base}/acs`, metadataUrl: `${base}/metadata`, sloUrl: `${base}/slo` };
}

/** The redirect URI every OIDC connection registers at its provider (the login tells connections apart by its state). */
export function oidcRedirectUri(publicUrl: string): string {
  return `${publicUrl}/sso/oidc/callback`;
}

/** The post_logout_redirect_uri every OIDC connection registers at its provider (RP-Initiated Logout 1.0 §3); the state finds the logout. */
export function oidcLogoutCallbackUri(publicUrl: string): string {
  return `${publicUrl}/sso/oidc/logout-callback`;
}

/** How the SAML SP key pair is made (RSA-2048, self-signed for 10 years), at first use and at each rotation. */
export function generateSpKey(deps: { clock: Clock; random: RandomBytes; publicUrl: string }): GenerateKey {
  return () =>
    generateSelfSignedKeyPair(
      { commonName: `Lanyard SP ${new URL(deps.publicUrl).host}`.slice(0, 64), validityYears: 10, now: deps.clock() },
      { randomBytes: deps.random },
    );
}

/**
 * The deployment's SAML SP keys: the one that signs AuthnRequests now, and every one still
 * published (during a rollover, both: the metadata lists both certificates and either decrypts).
 * The login code must use these too, so the keys it signs and decrypts with are the ones the
 * metadata announces.
 */
export function samlSpKeys(deps: {
  deploymentKeys: DeploymentKeys;
  clock: Clock;
  random: RandomBytes;
  publicUrl: string;
}): Promise<KeySet> {
  return deps.deploymentKeys.keySet(SAML_SP_KEY_PURPOSE, generateSpKey(deps));
}

/** The SAML SP key that signs now; see {@link samlSpKeys}. */
export async function samlSpKey(deps: Parameters<typeof samlSpKeys>[0]): Promise<DeploymentKey> {
  return (await samlSpKeys(deps)).signing;
}

const UNSPECIFIED_NAME_ID = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';

/** Serves the SP metadata of SAML connections; public, since IdPs fetch it without credentials. */
export function createSpMetadataService(deps: {
  db: Kysely<Database>;
  config: Pick<Config, 'publicUrl'>;
  deploymentKeys: DeploymentKeys;
  clock: Clock;
  random: RandomBytes;
}) {
  return {
    /** The SP metadata XML of a SAML connection, enabled or not (the IdP admin needs it before enabling); 404 otherwise. */
    async render(connectionId: string): Promise<string> {
      const row = await findConnection(deps.db, connectionId);
      const settings = row === undefined ? undefined : samlSettingsOf(row);
      if (row === undefined || settings === undefined) throw notFound('SAML connection');
      const keys = await samlSpKeys({ ...deps, publicUrl: deps.config.publicUrl });
      const certificateOf = (key: DeploymentKey): string => {
        if (key.certificatePem === null) throw new Error('the SAML SP key has no certificate');
        return key.certificatePem;
      };
      const sp = spValues(deps.config.publicUrl, row.id);
      return renderSpMetadata({
        entityId: sp.entityId,
        acsUrl: sp.acsUrl,
        sloUrl: sp.sloUrl,
        certificate: certificateOf(keys.signing),
        // During a rollover the next key (or the previous one) is announced too, so IdPs trust it before it signs.
        rolloverCertificates: keys.published.filter((key) => key !== keys.signing).map(certificateOf),
        encryptAssertions: settings.encryptAssertions,
        authnRequestsSigned: settings.signRequests,
        nameIdFormat: settings.nameIdFormat ?? UNSPECIFIED_NAME_ID,
      });
    },
  };
}

/** Renders SP metadata; see {@link createSpMetadataService}. */
export type SpMetadataService = ReturnType<typeof createSpMetadataService>;
