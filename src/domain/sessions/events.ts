import { Type } from 'typebox';

/** The summary of `session.ended`: which session, and who ended it. */
export const SessionEndedPayload = Type.Object({
  sessionId: Type.String({ description: 'The `sid` the application received in its id_token' }),
  connectionId: Type.String(),
  applicationId: Type.String(),
  sub: Type.String({ description: 'The sub the app received' }),
  endedBy: Type.Union([Type.Literal('app'), Type.Literal('idp'), Type.Literal('expiry')], {
    description: 'app: RP-Initiated Logout at /oauth/logout; idp: a LogoutRequest from the IdP; expiry: the session ran out',
  }),
});
