import { Type, type Static } from 'typebox';
import { Nullable, Timestamp } from './common.ts';

export const KeyPurpose = Type.Enum(['saml-sp', 'oidc-token-signing'], {
  description: 'saml-sp: the SAML SP signing and encryption key pair; oidc-token-signing: the id_token signing key (JWKS)',
});

/** One of Lanyard's own keys, as published (never the private part). */
export const DeploymentKey = Type.Object(
  {
    id: Type.String({ description: 'key_…; the JWKS kid' }),
    purpose: KeyPurpose,
    state: Type.Enum(['next', 'current', 'previous'], {
      description: 'next: published, signs from activatesAt; current: signs now; previous: still published until retiresAt',
    }),
    createdAt: Timestamp,
    activatesAt: Nullable(Timestamp),
    retiresAt: Nullable(Timestamp),
    certificate: Nullable(
      Type.Object({ fingerprintSha256: Type.String(), notAfter: Timestamp }, { description: 'The SAML SP certificate' }),
    ),
  },
  { $id: 'DeploymentKey' },
);

export const DeploymentKeyList = Type.Object({ data: Type.Array(DeploymentKey) }, { $id: 'DeploymentKeyList' });

/** `POST /v1/keys/rotate`. */
export const RotateKeysBody = Type.Object(
  {
    purposes: Type.Optional(
      Type.Array(KeyPurpose, { minItems: 1, maxItems: 2, uniqueItems: true, description: 'Which keys to rotate (default both)' }),
    ),
  },
  { additionalProperties: false, $id: 'RotateKeysBody' },
);

export type KeyPurpose = Static<typeof KeyPurpose>;
export type DeploymentKeyView = Static<typeof DeploymentKey>;
export type RotateKeysBody = Static<typeof RotateKeysBody>;
