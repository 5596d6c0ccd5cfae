import type { Kysely } from 'kysely';
import type { Sealer } from '../../crypto/seal.ts';
import { hashToken, newId, randomToken, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import type { Database, SessionRow } from '../../storage/schema.ts';
import {
  endSamlSessions,
  endSession,
  findLogoutFlowByRequest,
  findPendingLogoutFlow,
  findSession,
  insertLogoutFlow,
  oweBackchannelLogouts,
  purgeExpiredLogoutState,
  rememberLogoutRequest,
  takeLogoutFlow,
} from '../../storage/sessions.ts';
import type { Application, ApplicationService } from '../applications/applications.ts';
import type { ConnectionForLogin } from '../connections/for-login.ts';
import { oidcLogoutCallbackUri, spValues } from '../connections/sp.ts';
import type { DeploymentKey, DeploymentKeys } from '../keys/deployment-keys.ts';
import { loginFailure, type Fact, type LoginFailure } from '../login/failures.ts';
import { sessionSecretContext, type LoginFinish } from '../login/finish.ts';
import { failurePage, type LoginOutcome } from '../login/outcome.ts';
import type { ConnectionDirectory } from '../login/ports.ts';
import { encodeRedirectBinding } from '../saml/authn-request.ts';
import { createLogoutRequest } from '../saml/logout-request.ts';
import { createLogoutResponse, type LogoutOutcome as SamlLogoutOutcome } from '../saml/logout-response.ts';
import { verifyLogoutRequest, verifyLogoutResponse, type ReceivedLogoutMessage } from '../saml/logout-verify.ts';
import { trustedCertificate } from '../saml/signature.ts';
import type { BackchannelLogout } from './backchannel.ts';
import { recordSessionsEnded } from './ended.ts';
import { readIdTokenHint } from './logout-token.ts';

/** Where a logout sends the browser: on (to the app or the IdP), a failure page, or the "signed out" page. */
export type LogoutOutcome = LoginOutcome | { readonly kind: 'signed_out' };

/** The RP-Initiated Logout 1.0 §2 request parameters Lanyard reads (GET query or POST form). */
export interface EndSessionRequest {
  readonly id_token_hint?: string | undefined;
  readonly client_id?: string | undefined;
  readonly post_logout_redirect_uri?: string | undefined;
  readonly state?: string | undefined;
}

export interface LogoutDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly sealer: Pick<Sealer, 'open'>;
  readonly publicUrl: string;
  readonly deploymentKeys: DeploymentKeys;
  readonly spKey: () => Promise<DeploymentKey>;
  readonly connections: Pick<ConnectionDirectory, 'getForLogin'>;
  readonly applications: Pick<ApplicationService, 'findByClientId' | 'findById'>;
  readonly finish: Pick<LoginFinish, 'fail'>;
  readonly backchannel: Pick<BackchannelLogout, 'deliverNow'>;
}

type SamlConnection = ConnectionForLogin & { saml: NonNullable<ConnectionForLogin['saml']> };
type OidcConnection = ConnectionForLogin & { oidc: NonNullable<ConnectionForLogin['oidc']> };

/** How long the browser may take at the OIDC provider's end_session_endpoint before its way back expires. */
const OIDC_LOGOUT_TTL_MS = 10 * 60 * 1000;

/** What an OIDC logout flow is found by: the hash of its state (the state is a bearer value, so only its hash is stored). */
function oidcLogoutRequestId(state: string): string {
  return `oidc-state:${hashToken(state)}`;
}

/**
 * Single Logout (README, "Logout"): the app's logout at /oauth/logout (OpenID Connect RP-Initiated
 * Logout 1.0), sent on to the IdP as a SAML LogoutRequest; and the SLO URL, which takes the IdP's
 * LogoutResponse to it, or the IdP's own LogoutRequest, whose sessions end and whose applications
 * are told by Back-Channel Logout 1.0.
 */
export function createLogout(deps: LogoutDeps) {
  const { db, clock, random } = deps;
  const tokenDeps = { deploymentKeys: deps.deploymentKeys, issuer: deps.publicUrl, random };
  let sloCalls = 0;

  /** A refusal: on the login trace (a `login.failed` event) and as the failure page. */
  async function refuse(
    connection: Pick<ConnectionForLogin, 'id' | 'organizationId' | 'type'> | undefined,
    failure: LoginFailure,
    context: { facts: readonly Fact[]; requestId: string; back?: string | undefined },
  ): Promise<LogoutOutcome> {
    if (connection !== undefined) {
      const record = {
        flow: undefined,
        organizationId: connection.organizationId,
        connectionId: connection.id,
        connectionType: connection.type,
      };
      await deps.finish.fail({ ...record, ...failure, facts: [...context.facts, ...failure.facts] }, context.requestId);
    }
    const page = failurePage(failure, { issuer: deps.publicUrl, facts: context.facts, title: 'Sign-out failed' });
    return page.kind === 'failure' && context.back !== undefined ? { ...page, back: context.back } : page;
  }

  /** The post_logout_redirect_uri with `state` (RP-Initiated Logout 1.0 §3), or the "signed out" page. */
  function returnTo(uri: string | null, state: string | null): LogoutOutcome {
    if (uri === null) return { kind: 'signed_out' };
    const url = new URL(uri);
    if (state !== null) url.searchParams.set('state', state);
    return { kind: 'redirect', url: url.toString() };
  }

  /**
   * Sends the browser to the IdP's SingleLogoutService with a LogoutRequest naming the session
   * (NameID with its qualifiers, SessionIndex), signed over the query (bindings §3.4.4.1). A logout
   * flow remembers where to return, keyed by RelayState and bound to the request's ID.
   */
  async function toIdp(
    connection: SamlConnection,
    session: SessionRow & { name_id: string },
    back: { uri: string | null; state: string | null },
  ): Promise<LogoutOutcome | undefined> {
    const { saml } = connection;
    if (saml.sloUrl === null) return undefined;
    const now = clock();
    const request = createLogoutRequest(
      {
        now,
        destination: saml.sloUrl,
        issuer: saml.spEntityId,
        nameId: {
          value: session.name_id,
          format: session.name_id_format,
          nameQualifier: session.name_qualifier,
          spNameQualifier: session.sp_name_qualifier,
        },
        sessionIndexes: session.session_index === null ? [] : [session.session_index],
      },
      { randomBytes: random },
    );
    // An identifier XML cannot carry came from the IdP; Lanyard's session is ended all the same.
    if (!request.ok) return undefined;
    const flowId = newId('lgo', now, random);
    await insertLogoutFlow(db, {
      id: flowId,
      connection_id: connection.id,
      request_id: request.value.id,
      post_logout_redirect_uri: back.uri,
      state: back.state,
      created_at: now,
      expires_at: request.value.notOnOrAfter,
    });
    const signingKey = (await deps.spKey()).privateKey;
    const binding = encodeRedirectBinding({ ssoUrl: saml.sloUrl, xml: request.value.xml, relayState: flowId, signingKey });
    return { kind: 'redirect', url: binding.url };
  }

  /**
   * Sends the browser to the OIDC provider's end_session_endpoint (RP-Initiated Logout 1.0 §2) with
   * the login's id_token as id_token_hint, the connection's client_id, Lanyard's logout callback as
   * post_logout_redirect_uri, and a fresh state: a single-use logout flow that remembers where to
   * return. Undefined when the provider has no end_session_endpoint.
   */
  async function toOidcProvider(
    connection: OidcConnection,
    session: SessionRow,
    back: { uri: string | null; state: string | null },
  ): Promise<LogoutOutcome | undefined> {
    const { endSessionEndpoint } = connection.oidc;
    if (endSessionEndpoint === null) return undefined;
    const now = clock();
    const state = randomToken(random);
    await insertLogoutFlow(db, {
      id: newId('lgo', now, random),
      connection_id: connection.id,
      request_id: oidcLogoutRequestId(state),
      post_logout_redirect_uri: back.uri,
      state: back.state,
      created_at: now,
      expires_at: new Date(now.getTime() + OIDC_LOGOUT_TTL_MS),
    });
    const url = new URL(endSessionEndpoint);
    const idToken = openUpstreamIdToken(session);
    // §2: the hint is RECOMMENDED, not required; a hint that no longer opens (the sealing key changed) is left out.
    if (idToken !== undefined) url.searchParams.set('id_token_hint', idToken);
    url.searchParams.set('client_id', connection.oidc.clientId);
    url.searchParams.set('post_logout_redirect_uri', oidcLogoutCallbackUri(deps.publicUrl));
    url.searchParams.set('state', state);
    return { kind: 'redirect', url: url.toString() };
  }

  function openUpstreamIdToken(session: SessionRow): string | undefined {
    if (session.sealed_upstream_id_token === null) return undefined;
    try {
      return deps.sealer.open(session.sealed_upstream_id_token, sessionSecretContext(session.id));
    } catch {
      return undefined;
    }
  }

  /**
   * The OIDC provider's way back, `/sso/oidc/logout-callback` (RP-Initiated Logout 1.0 §3): the state
   * finds the logout flow, taken once and before it expires; then the browser goes on to the app's
   * post_logout_redirect_uri with the app's state, or to the "signed out" page.
   */
  async function oidcLogoutCallback(input: { state: string | undefined; requestId: string }): Promise<LogoutOutcome> {
    const context = { facts: [] as Fact[], requestId: input.requestId };
    if (!input.state) {
      const failure = loginFailure(
        'logout_state_missing',
        'This request to the logout callback carries no state, so it belongs to no sign-out.',
      );
      return refuse(undefined, failure, context);
    }
    // Housekeeping outside the logout's own statements, as at the SLO URL.
    if (++sloCalls % 100 === 0) await purgeExpiredLogoutState(db, clock());
    const flow = await findLogoutFlowByRequest(db, oidcLogoutRequestId(input.state));
    if (flow === undefined) {
      const failure = loginFailure(
        'logout_state_unknown',
        'No sign-out is waiting for this state: Lanyard never sent it to an identity provider, or it expired long ago. You are signed out of the application.',
      );
      return refuse(undefined, failure, context);
    }
    const connection = await deps.connections.getForLogin(flow.connection_id);
    if (connection !== undefined) context.facts.push(['Connection', `${connection.name} (${connection.id})`]);
    // Taken once: the same state presented again, or after the flow expired, finds nothing to take.
    if (!(await takeLogoutFlow(db, flow.id, clock()))) {
      return refuse(
        connection,
        loginFailure('logout_flow_not_found', 'This sign-out has expired or was already completed. You are signed out of the application.'),
        context,
      );
    }
    return returnTo(flow.post_logout_redirect_uri, flow.state);
  }

  /** RP-Initiated Logout 1.0 §2–§3 at /oauth/logout. */
  async function endSessionAtApp(input: EndSessionRequest, requestId: string): Promise<LogoutOutcome> {
    const facts: Fact[] = [];
    const context = { facts, requestId };
    let hint: { audiences: readonly string[]; sid: string | null } | undefined;
    if (input.id_token_hint !== undefined) {
      const read = await readIdTokenHint(input.id_token_hint, tokenDeps);
      if (!read.ok) return refuse(undefined, loginFailure('logout_id_token_hint_invalid', `Sign-out refused: ${read.error}.`), context);
      hint = read.value;
    }
    if (input.client_id !== undefined && hint !== undefined && !hint.audiences.includes(input.client_id)) {
      return refuse(
        undefined,
        loginFailure('logout_client_mismatch', 'Sign-out refused: client_id is not the audience of the id_token_hint.'),
        context,
      );
    }
    const clientId = input.client_id ?? (hint?.audiences.length === 1 ? hint.audiences[0] : undefined);
    const application = clientId === undefined ? undefined : await deps.applications.findByClientId(clientId);
    if (clientId !== undefined && application === undefined) {
      return refuse(undefined, loginFailure('logout_client_unknown', 'Sign-out refused: the client_id names no application.'), context);
    }
    const uri = input.post_logout_redirect_uri ?? null;
    // Exact match against the registered list (§3): an unregistered URI is never redirected to.
    if (uri !== null && (application === undefined || !application.postLogoutRedirectUris.includes(uri))) {
      return refuse(
        undefined,
        loginFailure(
          'logout_redirect_uri_not_registered',
          "Sign-out refused: post_logout_redirect_uri is not one of the application's registered postLogoutRedirectUris.",
          [['post_logout_redirect_uri', uri]],
        ),
        context,
      );
    }
    const back = { uri, state: input.state ?? null };
    const ended = application !== undefined && hint?.sid ? await endAppSession(application, hint.sid, requestId) : undefined;
    const connection = ended === undefined ? undefined : await deps.connections.getForLogin(ended.connection_id);
    if (ended !== undefined && connection !== undefined) {
      const { saml, oidc } = connection;
      const sent =
        saml !== undefined && ended.name_id !== null
          ? await toIdp({ ...connection, saml }, { ...ended, name_id: ended.name_id }, back)
          : oidc !== undefined
            ? await toOidcProvider({ ...connection, oidc }, ended, back)
            : undefined;
      if (sent !== undefined) return sent;
    }
    return returnTo(back.uri, back.state);
  }

  /**
   * Ends the application's own open session `sid`; a session of another application is left alone.
   * The ended row no longer holds the upstream id_token: the answer carries it, as read before, for
   * this logout's hint only.
   */
  async function endAppSession(application: Application, sid: string, requestId: string): Promise<SessionRow | undefined> {
    const session = await findSession(db, sid);
    if (session === undefined || session.application_id !== application.id) return undefined;
    const ended = await db.transaction().execute(async (trx) => {
      const row = await endSession(trx, sid, clock());
      if (row !== undefined) await recordSessionsEnded(trx, { now: clock(), random }, [row], requestId);
      return row;
    });
    return ended === undefined ? undefined : { ...ended, sealed_upstream_id_token: session.sealed_upstream_id_token };
  }

  /** The verifier's view of the connection: pinned certificates, this connection's SLO URL, skew, SHA-1 and unsigned-message policy. */
  function verifierInput(connection: SamlConnection, received: ReceivedLogoutMessage) {
    const { saml } = connection;
    const trustedCerts = saml.certificatesPem.map((pem) => trustedCertificate(pem)).flatMap((r) => (r.ok ? [r.value] : []));
    return {
      received,
      idpEntityId: saml.idpEntityId,
      trustedCerts,
      sloUrl: spValues(deps.publicUrl, connection.id).sloUrl,
      now: clock(),
      clockSkewSeconds: saml.clockSkewSeconds,
      allowSha1: saml.allowSha1,
      allowUnsigned: saml.allowUnsignedLogout,
    };
  }

  /** The IdP's LogoutResponse to the LogoutRequest Lanyard sent (profiles §4.4.3.5). */
  async function logoutResponse(
    connection: SamlConnection,
    received: ReceivedLogoutMessage,
    relayState: string | null,
    context: { facts: Fact[]; requestId: string },
  ): Promise<LogoutOutcome> {
    const flow =
      relayState === null ? undefined : await findPendingLogoutFlow(db, { id: relayState, connectionId: connection.id }, clock());
    const verified = verifyLogoutResponse({ ...verifierInput(connection, received), expectedInResponseTo: flow?.request_id ?? null });
    const back = flow?.post_logout_redirect_uri ? returnTo(flow.post_logout_redirect_uri, flow.state) : undefined;
    const backUrl = back?.kind === 'redirect' ? back.url : undefined;
    if (!verified.ok) return refuse(connection, loginFailure(verified.error.code, verified.error.message), { ...context, back: backUrl });
    // Taken once: the same LogoutResponse presented again finds no flow.
    if (flow === undefined || !(await takeLogoutFlow(db, flow.id, clock()))) {
      return refuse(
        connection,
        loginFailure('logout_flow_not_found', 'This sign-out has expired or was already completed. You are signed out of the application.'),
        context,
      );
    }
    return returnTo(flow.post_logout_redirect_uri, flow.state);
  }

  /**
   * The IdP's LogoutRequest (profiles §4.4.3.3–4): verified, refused when replayed, then the
   * sessions of this connection it names are ended, each application told by a logout_token, and
   * a signed LogoutResponse goes back (Success, or PartialLogout when an application was not told).
   */
  async function logoutRequest(
    connection: SamlConnection,
    received: ReceivedLogoutMessage,
    context: { facts: Fact[]; requestId: string },
  ): Promise<LogoutOutcome> {
    const verified = verifyLogoutRequest(verifierInput(connection, received));
    if (!verified.ok) return refuse(connection, loginFailure(verified.error.code, verified.error.message), context);
    const request = verified.value;
    const now = clock();
    const ended = await db.transaction().execute(async (trx) => {
      const fresh = await rememberLogoutRequest(trx, {
        connectionId: connection.id,
        requestId: request.id,
        expiresAt: request.replayExpiresAt,
      });
      if (!fresh) return undefined;
      const sessions = await endSamlSessions(
        trx,
        {
          connectionId: connection.id,
          nameId: request.nameId.value,
          format: request.nameId.format,
          nameQualifier: request.nameId.nameQualifier,
          spNameQualifier: request.nameId.spNameQualifier,
          sessionIndexes: request.sessionIndexes,
        },
        now,
      );
      await recordSessionsEnded(trx, { now: clock(), random }, sessions, context.requestId);
      // The outbox: what each application is owed commits with the end of its session.
      return oweBackchannelLogouts(
        trx,
        sessions.map((session) => session.id),
        now,
      );
    });
    if (ended === undefined) {
      return refuse(
        connection,
        loginFailure('logout_request_replayed', 'This LogoutRequest was received before; each is accepted once.', [
          ['Request ID', request.id],
        ]),
        context,
      );
    }
    // Tried at once, so that the IdP hears whether every application was told; retried later otherwise.
    const outcome: SamlLogoutOutcome = (await deps.backchannel.deliverNow(ended)) ? 'success' : 'partial_logout';
    const { saml } = connection;
    if (saml.sloUrl === null) return { kind: 'signed_out' };
    const response = createLogoutResponse(
      { now: clock(), destination: saml.sloUrl, issuer: saml.spEntityId, inResponseTo: request.id, outcome },
      { randomBytes: random },
    );
    const signingKey = (await deps.spKey()).privateKey;
    const binding = encodeRedirectBinding({
      ssoUrl: saml.sloUrl,
      xml: response.xml,
      parameter: 'SAMLResponse',
      ...(request.relayState === null ? {} : { relayState: request.relayState }),
      signingKey,
    });
    return { kind: 'redirect', url: binding.url };
  }

  /** The SLO URL `/sso/saml/{id}/slo`, both bindings, both message kinds. */
  async function slo(input: {
    connectionId: string;
    received: ReceivedLogoutMessage;
    kind: 'request' | 'response' | undefined;
    relayState: string | null;
    requestId: string;
  }): Promise<LogoutOutcome> {
    const context = { facts: [] as Fact[], requestId: input.requestId };
    const connection = await deps.connections.getForLogin(input.connectionId);
    if (connection?.saml === undefined) {
      const failure = loginFailure(
        'connection_not_found',
        'This SLO URL belongs to no SAML connection. Check the SLO URL configured at the identity provider.',
      );
      return refuse(undefined, failure, { ...context, facts: [['Connection', input.connectionId]] });
    }
    context.facts.push(['Connection', `${connection.name} (${connection.id})`], ['Identity provider', connection.saml.idpEntityId]);
    // Housekeeping outside the logout's own transaction.
    if (++sloCalls % 100 === 0) await purgeExpiredLogoutState(db, clock());
    const saml = { ...connection, saml: connection.saml };
    if (input.kind === undefined)
      return refuse(
        connection,
        loginFailure('logout_message_missing', 'The request carries neither a SAMLRequest nor a SAMLResponse.'),
        context,
      );
    return input.kind === 'request'
      ? logoutRequest(saml, input.received, context)
      : logoutResponse(saml, input.received, input.relayState, context);
  }

  return { endSessionAtApp, slo, oidcLogoutCallback };
}

export type Logout = ReturnType<typeof createLogout>;
