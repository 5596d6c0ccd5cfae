import type { Kysely } from 'kysely';
import { hashToken, randomToken, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import type { Database, LoginFlowRow } from '../../storage/schema.ts';
import { SYSTEM_ACTOR } from '../actor.ts';
import { allowsOrganization, type Application, type ApplicationService } from '../applications/applications.ts';
import { recordEvent } from '../events/events.ts';
import { recordSetupTestResult } from '../tickets/test-results.ts';
import { OAuthError } from './errors.ts';
import type { ConnectionDirectory } from './ports.ts';
import { subjectFor, type Profile } from './profile.ts';

/** An authorization code lives long enough for a back-channel exchange and no longer (RFC 6749 §4.1.2). */
export const CODE_TTL_MS = 60 * 1000;

export interface CompletionDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly applications: Pick<ApplicationService, 'findByClientId'>;
  readonly connections: Pick<ConnectionDirectory, 'markUsed'>;
}

/** Ends logins: hands the app a code on success, records the failure kind otherwise. */
export function createLoginCompletion(deps: CompletionDeps) {
  const { db, clock, random } = deps;

  async function issueCode(input: { applicationId: string; redirectUri: string; codeChallenge: string | null; nonce: string | null; scope: string; profile: Profile }): Promise<string> {
    const code = randomToken(random);
    const now = clock();
    await db
      .insertInto('authorization_codes')
      .values({
        code_hash: hashToken(code),
        application_id: input.applicationId,
        redirect_uri: input.redirectUri,
        code_challenge: input.codeChallenge,
        nonce: input.nonce,
        scope: input.scope,
        profile: JSON.stringify(input.profile),
        created_at: now,
        expires_at: new Date(now.getTime() + CODE_TTL_MS),
      })
      .execute();
    return code;
  }

  async function succeeded(profile: Profile, applicationId: string, flowId: string | null, requestId: string | null): Promise<void> {
    const now = clock();
    await deps.connections.markUsed(profile.connectionId, now);
    await recordEvent(db, { now, random }, { ...SYSTEM_ACTOR, requestId }, {
      type: 'login.succeeded',
      organizationId: profile.organizationId,
      summary: { connectionId: profile.connectionId, applicationId, flowId, sub: subjectFor(profile), idpId: profile.idpId, email: profile.email },
    });
  }

  /** One atomic UPDATE … RETURNING, so two responses racing for one flow cannot both take it. */
  async function takeFlowWhere(key: { flowId: string; connectionId: string } | { upstreamRequestId: string; connectionType: 'saml' | 'oidc' }): Promise<LoginFlowRow | undefined> {
    const now = clock();
    let query = db.updateTable('login_flows').set({ returned_at: now }).where('returned_at', 'is', null).where('expires_at', '>', now);
    query =
      'flowId' in key
        ? query.where('id', '=', key.flowId).where('connection_id', '=', key.connectionId)
        : query
            .where('upstream_request_id', '=', key.upstreamRequestId)
            .where('connection_id', 'in', db.selectFrom('connections').select('id').where('type', '=', key.connectionType));
    return query.returningAll().executeTakeFirst();
  }

  return {
    /**
     * Takes the login flow a response comes back for, once: a second response for the same flow,
     * a flow of another connection, or an expired flow finds nothing.
     */
    async takeFlow(flowId: string, connectionId: string): Promise<LoginFlowRow | undefined> {
      return takeFlowWhere({ flowId, connectionId });
    },

    /**
     * The same single-use take, for a response that names the flow by what was sent upstream (the
     * OIDC `state`) rather than by its id; only flows of `connectionType` connections match, so a
     * SAML AuthnRequest ID presented as an OIDC state takes nothing.
     */
    async takeFlowByUpstreamRequest(upstreamRequestId: string, connectionType: 'saml' | 'oidc'): Promise<LoginFlowRow | undefined> {
      return takeFlowWhere({ upstreamRequestId, connectionType });
    },

    /** A flow by id, whatever its state (to explain a failure for a flow that was already used or expired). */
    async findFlow(flowId: string): Promise<LoginFlowRow | undefined> {
      return db.selectFrom('login_flows').selectAll().where('id', '=', flowId).executeTakeFirst();
    },

    /** A flow by the request id sent upstream, whatever its state (to explain a state that takes nothing). */
    async findFlowByUpstreamRequest(upstreamRequestId: string, connectionType: 'saml' | 'oidc'): Promise<LoginFlowRow | undefined> {
      return db
        .selectFrom('login_flows')
        .selectAll()
        .where('upstream_request_id', '=', upstreamRequestId)
        .where('connection_id', 'in', db.selectFrom('connections').select('id').where('type', '=', connectionType))
        .executeTakeFirst();
    },

    /** SP-initiated success: a code for the app that started the flow, on its redirect URI with its state. */
    async succeed(flow: LoginFlowRow, profile: Profile, requestId: string | null): Promise<string> {
      // A test sign-in from a setup page has no app to hand a code to: its result goes to the setup page.
      if (flow.setup_ticket_id !== null || flow.application_id === null) return recordSetupTestResult(db, deps, flow, { ok: true, profile }, requestId);
      const code = await issueCode({ applicationId: flow.application_id, redirectUri: flow.redirect_uri, codeChallenge: flow.code_challenge, nonce: flow.nonce, scope: flow.scope, profile });
      await db.updateTable('login_flows').set({ completed_at: clock() }).where('id', '=', flow.id).execute();
      await succeeded(profile, flow.application_id, flow.id, requestId);
      const url = new URL(flow.redirect_uri);
      url.searchParams.set('code', code);
      if (flow.app_state !== null) url.searchParams.set('state', flow.app_state);
      return url.toString();
    },

    /**
     * IdP-initiated success (../shared/API.md): the application whose clientId the RelayState
     * names, if allowed for the organization, else the connection's default application; the
     * code lands on that application's defaultRedirectUri, with no state.
     */
    async succeedUnsolicited(input: { profile: Profile; relayState: string | undefined; defaultApplication: Application | undefined }, requestId: string | null): Promise<string> {
      const named = input.relayState ? await deps.applications.findByClientId(input.relayState) : undefined;
      const application = named && allowsOrganization(named, input.profile.organizationId) ? named : input.defaultApplication;
      if (application === undefined || !allowsOrganization(application, input.profile.organizationId)) {
        throw new OAuthError('access_denied', 'this IdP-initiated login names no application: set the connection\'s defaultApplicationId, or send the application\'s clientId as RelayState');
      }
      if (application.defaultRedirectUri === null) throw new OAuthError('access_denied', `the application "${application.name}" has no defaultRedirectUri for IdP-initiated logins`);
      const code = await issueCode({ applicationId: application.id, redirectUri: application.defaultRedirectUri, codeChallenge: null, nonce: null, scope: 'openid profile email', profile: input.profile });
      await succeeded(input.profile, application.id, null, requestId);
      const url = new URL(application.defaultRedirectUri);
      url.searchParams.set('code', code);
      return url.toString();
    },

    /**
     * Records why a login failed, on its flow when there is one, and as a `login.failed` event.
     * For a test sign-in from a setup page, returns the URL of its result page (which shows `facts`).
     */
    async fail(
      input: { flow: LoginFlowRow | undefined; organizationId: string | null; connectionId: string; code: string; message: string; facts?: readonly (readonly [string, string])[] },
      requestId: string | null,
    ): Promise<string | undefined> {
      const now = clock();
      if (input.flow !== undefined) {
        await db.updateTable('login_flows').set({ failure_code: input.code, failure_message: input.message, completed_at: now }).where('id', '=', input.flow.id).execute();
      }
      await recordEvent(db, { now, random }, { ...SYSTEM_ACTOR, requestId }, {
        type: 'login.failed',
        organizationId: input.organizationId,
        summary: { connectionId: input.connectionId, flowId: input.flow?.id ?? null, applicationId: input.flow?.application_id ?? null, code: input.code, message: input.message },
      });
      if (input.flow?.setup_ticket_id) return recordSetupTestResult(db, deps, input.flow, { ok: false, code: input.code, message: input.message, facts: input.facts }, requestId);
      return undefined;
    },
  };
}

export type LoginCompletion = ReturnType<typeof createLoginCompletion>;
