import { Type, type Static } from 'typebox';

const Param = Type.Optional(Type.String({ maxLength: 2048 }));

/** The query of GET /oauth/authorize (OIDC core §3.1.2.1, RFC 7636), plus Lanyard's connection selectors. */
export const AuthorizeQuery = Type.Object({
  response_type: Param,
  client_id: Param,
  redirect_uri: Param,
  state: Param,
  scope: Param,
  nonce: Param,
  code_challenge: Param,
  code_challenge_method: Param,
  organization: Param,
  connection: Param,
  login_hint: Param,
  prompt: Param,
  domain: Param,
});
export type AuthorizeQuery = Static<typeof AuthorizeQuery>;

/** The body of POST /oauth/token (RFC 6749 §4.1.3, RFC 7636 §4.5; client_secret_post §2.3.1). */
export const TokenBody = Type.Object({
  grant_type: Param,
  code: Param,
  redirect_uri: Param,
  code_verifier: Param,
  client_id: Param,
  client_secret: Param,
});
export type TokenBody = Static<typeof TokenBody>;

/** The body of POST /oauth/revoke (RFC 7009 §2.1; client_secret_post as at the token endpoint). */
export const RevokeBody = Type.Object(
  { token: Param, token_type_hint: Param, client_id: Param, client_secret: Param },
  { $id: 'OAuthRevocationRequest', title: 'OAuthRevocationRequest' },
);
export type RevokeBody = Static<typeof RevokeBody>;

const CallbackParam = Type.Optional(Type.String({ maxLength: 4096 }));
// The authorization response (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207). IdPs add their own parameters
// (session_state, Google's authuser and hd, …), which are accepted and ignored.
export const OidcCallbackQuery = Type.Object(
  { state: CallbackParam, code: CallbackParam, iss: CallbackParam, error: CallbackParam, error_description: CallbackParam },
  { additionalProperties: true },
);
export type OidcCallbackQuery = Static<typeof OidcCallbackQuery>;
