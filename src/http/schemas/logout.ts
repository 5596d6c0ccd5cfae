import { Type, type Static } from 'typebox';

const Param = Type.Optional(Type.String({ maxLength: 4096 }));

/** RP-Initiated Logout 1.0 §2: the query of GET /oauth/logout, or the form of POST (other parameters are ignored). */
export const EndSessionRequest = Type.Object(
  {
    id_token_hint: Type.Optional(Type.String({ maxLength: 16384, description: 'An id_token Lanyard issued; expired ones are accepted' })),
    client_id: Param,
    post_logout_redirect_uri: Type.Optional(
      Type.String({ maxLength: 2000, description: "One of the application's postLogoutRedirectUris, exact match" }),
    ),
    state: Param,
    logout_hint: Param,
    ui_locales: Param,
  },
  { title: 'EndSessionRequest' },
);
export type EndSessionRequest = Static<typeof EndSessionRequest>;

/** RP-Initiated Logout 1.0 §3: what the OIDC provider sends back to /sso/oidc/logout-callback (other parameters are ignored). */
export const OidcLogoutCallbackQuery = Type.Object(
  { state: Type.Optional(Type.String({ maxLength: 512, description: 'The state Lanyard sent to the end_session_endpoint' })) },
  { title: 'OidcLogoutCallbackQuery' },
);

// A base64 DEFLATEd (Redirect) or base64 (POST) logout message of the verifier's 64 KiB limit, with room to spare.
const Message = Type.Optional(Type.String({ maxLength: 128 * 1024 }));
const Small = Type.Optional(Type.String({ maxLength: 2048 }));

export const SloParams = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 100, description: 'conn_… id' }) },
  { title: 'SloParams' },
);

/** The HTTP-Redirect binding's parameters (SAML bindings §3.4.4.1); the route verifies the raw query string. */
export const SloQuery = Type.Object(
  { SAMLRequest: Message, SAMLResponse: Message, RelayState: Small, SigAlg: Small, Signature: Small, SAMLEncoding: Small },
  { title: 'SloQuery' },
);
export type SloQuery = Static<typeof SloQuery>;

/** The HTTP-POST binding's form fields (SAML bindings §3.5.4). */
export const SloBody = Type.Object({ SAMLRequest: Message, SAMLResponse: Message, RelayState: Small }, { title: 'SloBody' });
export type SloBody = Static<typeof SloBody>;
