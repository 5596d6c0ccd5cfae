import type { Kysely, Transaction } from 'kysely';
import type { Config } from '../../config.ts';
import type { Sealer } from '../../crypto/seal.ts';
import { hashToken, newId, randomToken, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import { isUseWorthRecording, markConnectionUsed } from '../../storage/connections.ts';
import { endLoginFlow, findLoginFlow, takeLoginFlow, type LoginFlowKey } from '../../storage/login-flows.ts';
import { grantLogin } from '../../storage/login-grants.ts';
import { rememberAssertion, type UsedAssertion } from '../../storage/saml-assertions.ts';
import type { Database, LoginFlowRow } from '../../storage/schema.ts';
import { SYSTEM_ACTOR } from '../actor.ts';
import { allowsOrganization, type Application, type ApplicationService } from '../applications/applications.ts';
import type { ConnectionForLogin } from '../connections/for-login.ts';
import { newEventRow, recordEvent } from '../events/events.ts';
import { subjectFor, type Profile } from '../profile.ts';
import { err, ok, type Result } from '../result.ts';
import type { Fact, LoginFailure } from './failures.ts';
import type { LoginMetrics, TestSignInResults } from './ports.ts';
import { emailDomainRefusal, isEmailInVerifiedDomain, trustedEmailVerified } from './email-trust.ts';
import { appRedirect } from './redirects.ts';
import { DEFAULT_SCOPE } from './start.ts';

/** An authorization code lives long enough for a back-channel exchange and no longer (RFC 6749 §4.1.2). */
const CODE_TTL_MS = 60 * 1000;
/** How long a session lasts when the IdP names no end (SAML SessionNotOnOrAfter): one working day. */
export const DEFAULT_SESSION_TTL_MS = 8 * 60 * 60 * 1000;

export interface FinishDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly sealer: Pick<Sealer, 'seal'>;
  readonly applications: Pick<ApplicationService, 'findByClientId' | 'findById'>;
  readonly testSignIns: TestSignInResults;
  readonly config: Pick<Config, 'publicUrl'>;
  readonly loginMetrics: Pick<LoginMetrics, 'succeeded' | 'failed'>;
}

/** What a verified response proves, and the SAML assertion to remember as used (none for OIDC). */
export interface VerifiedLogin {
  profile: Profile;
  connection: Pick<ConnectionForLogin, 'id' | 'state' | 'lastUsedAt'>;
  assertion?: UsedAssertion;
  /** What a SAML logout needs to name the session at the IdP (none for OIDC). */
  samlSession?: SamlSessionFacts;
  /** What a logout at the OIDC provider's end_session_endpoint needs (none for SAML). */
  oidcSession?: OidcSessionFacts;
}

/** The provider's `sid` claim, if any, and its id_token, sent back as id_token_hint (RP-Initiated Logout 1.0 §2). */
export interface OidcSessionFacts {
  sid: string | null;
  idToken: string;
}

/** The context a session's sealed upstream id_token is bound to (`<table>:<id>`, so `lanyard secrets rotate` re-seals it). */
export function sessionSecretContext(sessionId: string): string {
  return `sessions:${sessionId}`;
}

/** The assertion's NameID (verbatim, with its qualifiers) and AuthnStatement session facts (SAML core §2.7.2). */
export interface SamlSessionFacts {
  nameId: string;
  nameIdFormat: string | null;
  nameQualifier: string | null;
  spNameQualifier: string | null;
  sessionIndex: string | null;
  sessionNotOnOrAfter: Date | null;
}

/**
 * Why a login ended without this response's outcome: another response took its flow first
 * (`flow_taken`), or the assertion was used before (`replayed`). Nothing of the success was written (a flow_taken response's assertion stays remembered).
 */
export type Conflict = 'flow_taken' | 'replayed';

/** An application an IdP-initiated login may land on: it has a defaultRedirectUri. */
export type UnsolicitedApplication = Application & { defaultRedirectUri: string };

/** A failure to record: on `flow` when there is one, as a `login.failed` event of the connection's organization. */
export interface FailureRecord {
  readonly flow: LoginFlowRow | undefined;
  readonly organizationId: string | null;
  readonly connectionId: string;
  readonly connectionType: ConnectionForLogin['type'];
  readonly code: LoginFailure['code'];
  readonly message: string;
  readonly facts?: readonly Fact[];
}

/** Thrown inside a login's transaction to roll it back whole; becomes the Result's error. */
class ConflictError extends Error {
  constructor(readonly conflict: Conflict) {
    super(conflict);
  }
}

/**
 * Ends logins: hands the app a code on success, records the failure kind otherwise. The single-use
 * checks (the flow taken by a conditional UPDATE, the assertion remembered) and every write that
 * follows them land together or not at all: a success in one statement, a test sign-in or a
 * failure in one transaction.
 */
export function createLoginFinish(deps: FinishDeps) {
  const { db, clock, random } = deps;

  async function inTransaction<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<Result<T, Conflict>> {
    try {
      return ok(await db.transaction().execute(work));
    } catch (error) {
      if (error instanceof ConflictError) return err(error.conflict);
      throw error;
    }
  }

  /**
   * A code on `grant.redirectUri` (with the app's state, if any), its session and a
   * `login.succeeded` event, written in one statement together with the single-use checks
   * (storage/login-grants.ts); then the connection marked used. The URL to send the browser to.
   */
  async function issueCode(
    login: VerifiedLogin,
    flow: LoginFlowRow | undefined,
    grant: {
      applicationId: string;
      redirectUri: string;
      state: string | null;
      codeChallenge: string | null;
      nonce: string | null;
      scope: string;
    },
    requestId: string | null,
  ): Promise<Result<string, Conflict>> {
    const code = randomToken(random);
    const profile = {
      ...login.profile,
      // Before the clock is read: the lookup may wait for the database, and the rows carry `now`.
      emailVerified: trustedEmailVerified(login.profile, await isEmailInVerifiedDomain(db, login.profile)),
    };
    const now = clock();
    const sessionId = newId('ses', now, random);
    const saml = login.samlSession;
    const oidc = login.oidcSession;
    const sub = subjectFor(profile);
    const summary = {
      connectionId: profile.connectionId,
      applicationId: grant.applicationId,
      flowId: flow?.id ?? null,
      sessionId,
      sub,
      idpId: profile.idpId,
      email: profile.email,
    };
    const outcome = await grantLogin(db, {
      now,
      ...(flow === undefined ? {} : { flow: { id: flow.id, returnedAt: flow.returned_at, upstreamRequestId: flow.upstream_request_id } }),
      ...(login.assertion === undefined ? {} : { assertion: login.assertion }),
      session: {
        id: sessionId,
        organization_id: profile.organizationId,
        connection_id: profile.connectionId,
        application_id: grant.applicationId,
        subject: sub,
        name_id: saml?.nameId ?? null,
        name_id_format: saml?.nameIdFormat ?? null,
        name_qualifier: saml?.nameQualifier ?? null,
        sp_name_qualifier: saml?.spNameQualifier ?? null,
        session_index: saml?.sessionIndex ?? null,
        upstream_sid: oidc?.sid ?? null,
        sealed_upstream_id_token: oidc === undefined ? null : deps.sealer.seal(oidc.idToken, sessionSecretContext(sessionId)),
        created_at: now,
        expires_at: saml?.sessionNotOnOrAfter ?? new Date(now.getTime() + DEFAULT_SESSION_TTL_MS),
      },
      code: {
        session_id: sessionId,
        code_hash: hashToken(code),
        application_id: grant.applicationId,
        redirect_uri: grant.redirectUri,
        code_challenge: grant.codeChallenge,
        nonce: grant.nonce,
        scope: grant.scope,
        profile,
        created_at: now,
        expires_at: new Date(now.getTime() + CODE_TTL_MS),
      },
      event: newEventRow(
        { now, random },
        { ...SYSTEM_ACTOR, requestId },
        { type: 'login.succeeded', organizationId: profile.organizationId, summary },
      ),
    });
    if (outcome !== 'granted') return err(outcome);
    deps.loginMetrics.succeeded(profile.connectionType);
    // After the grant, on its own: the one row every login of the connection shares is locked only for this statement.
    if (isUseWorthRecording(login.connection, now)) await markConnectionUsed(db, login.connection.id, now);
    return ok(appRedirect(deps.config.publicUrl, grant.redirectUri, { code }, grant.state));
  }

  /** A test sign-in's success, in one transaction: the flow ended, the assertion remembered, the result handed to its setup page. */
  async function recordTestSignIn(flow: LoginFlowRow, login: VerifiedLogin, requestId: string | null): Promise<Result<string, Conflict>> {
    const ended = await inTransaction(async (trx) => {
      if (!(await endLoginFlow(trx, flow, clock()))) throw new ConflictError('flow_taken');
      if (login.assertion !== undefined && !(await rememberAssertion(trx, login.assertion))) throw new ConflictError('replayed');
      return deps.testSignIns.record(trx, flow, { ok: true, profile: login.profile }, requestId);
    });
    if (ended.ok) deps.loginMetrics.succeeded(login.profile.connectionType);
    return ended;
  }

  return {
    /** The login flow a response names, whatever its state (read before verification, taken when the login ends). */
    findFlow(key: LoginFlowKey): Promise<LoginFlowRow | undefined> {
      return findLoginFlow(db, key);
    },

    /** Takes the pending flow a response names, once, before checking it (see takeLoginFlow). */
    takeFlow(key: LoginFlowKey): Promise<LoginFlowRow | undefined> {
      return takeLoginFlow(db, key, clock());
    },

    /** The refusal of a login whose email the connection's emailDomainPolicy does not accept, if any. */
    emailRefusal(profile: Profile, connection: Pick<ConnectionForLogin, 'emailDomainPolicy'>): Promise<LoginFailure | undefined> {
      return emailDomainRefusal(db, profile, connection);
    },

    /** True while no response has taken the flow and it has not expired. */
    isPending(flow: LoginFlowRow): boolean {
      return flow.returned_at === null && flow.expires_at > clock();
    },

    /**
     * SP-initiated success: ends the flow (taking it, if it was read pending), remembers the
     * assertion, then issues a code for the app that started the flow (on its redirect URI, with
     * its state), or hands a test sign-in's result to its setup page; all of it or nothing. The
     * URL to send the browser to.
     */
    async succeed(flow: LoginFlowRow, login: VerifiedLogin, requestId: string | null): Promise<Result<string, Conflict>> {
      // A test sign-in from a setup page has no app to hand a code to: its result goes to the setup page.
      if (flow.setup_ticket_id !== null || flow.application_id === null) return recordTestSignIn(flow, login, requestId);
      const grant = {
        applicationId: flow.application_id,
        redirectUri: flow.redirect_uri,
        state: flow.app_state,
        codeChallenge: flow.code_challenge,
        nonce: flow.nonce,
        scope: flow.scope,
      };
      return issueCode(login, flow, grant, requestId);
    },

    /**
     * The application an IdP-initiated login goes to (../shared/API.md): the one whose clientId
     * the RelayState names, if allowed for the organization, else the connection's default
     * application. Reads the default only when the named one does not do; an error when none does.
     */
    async unsolicitedApplication(input: {
      organizationId: string;
      relayState: string | undefined;
      defaultApplicationId: string | null | undefined;
    }): Promise<Result<UnsolicitedApplication, string>> {
      const named = input.relayState ? await deps.applications.findByClientId(input.relayState) : undefined;
      const application =
        named && allowsOrganization(named, input.organizationId)
          ? named
          : input.defaultApplicationId
            ? await deps.applications.findById(input.defaultApplicationId)
            : undefined;
      if (application === undefined || !allowsOrganization(application, input.organizationId))
        return err(
          "this IdP-initiated login names no application: set the connection's defaultApplicationId, or send the application's clientId as RelayState",
        );
      const redirectUri = application.defaultRedirectUri;
      if (redirectUri === null) return err(`the application "${application.name}" has no defaultRedirectUri for IdP-initiated logins`);
      return ok({ ...application, defaultRedirectUri: redirectUri });
    },

    /** IdP-initiated success: remembers the assertion, then a code on the application's defaultRedirectUri, with no state. */
    async succeedUnsolicited(
      application: UnsolicitedApplication,
      login: VerifiedLogin,
      requestId: string | null,
    ): Promise<Result<string, Conflict>> {
      const grant = {
        applicationId: application.id,
        redirectUri: application.defaultRedirectUri,
        state: null,
        codeChallenge: null,
        nonce: null,
        scope: DEFAULT_SCOPE,
      };
      return issueCode(login, undefined, grant, requestId);
    },

    /**
     * Records why a login failed, in one transaction: on its flow when there is one (taking it if
     * it was read pending, so no later response can use it), as a `login.failed` event, and for a
     * test sign-in from a setup page as its result, whose URL (the page shows the facts) is the
     * value. `flow_taken` when another response took the flow first: then nothing is written.
     */
    async fail(input: FailureRecord, requestId: string | null): Promise<Result<string | undefined, 'flow_taken'>> {
      const { flow, code, message } = input;
      const ended = await inTransaction(async (trx) => {
        const now = clock();
        if (flow !== undefined && !(await endLoginFlow(trx, flow, now, { code, message, facts: input.facts })))
          throw new ConflictError('flow_taken');
        const summary = {
          connectionId: input.connectionId,
          flowId: flow?.id ?? null,
          applicationId: flow?.application_id ?? null,
          code,
          message,
        };
        await recordEvent(
          trx,
          { now, random },
          { ...SYSTEM_ACTOR, requestId },
          { type: 'login.failed', organizationId: input.organizationId, summary },
        );
        if (flow?.setup_ticket_id)
          return deps.testSignIns.record(trx, flow, { ok: false, code, message, facts: input.facts ?? [] }, requestId);
        return undefined;
      });
      if (!ended.ok) return err('flow_taken');
      deps.loginMetrics.failed(input.connectionType, code);
      return ended;
    },
  };
}

export type LoginFinish = ReturnType<typeof createLoginFinish>;
