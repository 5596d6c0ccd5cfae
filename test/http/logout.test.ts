import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { expireSessions } from '../../src/domain/sessions/ended.ts';
import { readRedirectQuery, verifyRedirectSignature } from '../../src/domain/saml/redirect-binding.ts';
import { trustedCertificate } from '../../src/domain/saml/signature.ts';
import { startBackchannelReceiver, type BackchannelReceiver } from '../support/backchannel-receiver.ts';
import { buildLogoutRequestXml, buildLogoutResponseXml, postField, redirectQuery, signPost } from '../support/logout-builder.ts';
import { at, IDP, NOW, testKeys } from '../support/saml-builder.ts';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';
import { answerAtTestIdp, codeFrom, exchangeCode, startAtIdp, testAuthorizationUrl } from '../support/app-login.ts';

const REDIRECT = 'https://app.example.com/callback';
const AFTER_LOGOUT = 'https://app.example.com/signed-out';
const IDP_SLO = 'https://idp.example.test/slo';
const STATUS = 'urn:oasis:names:tc:SAML:2.0:status:';
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const form = (fields: Record<string, string>) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams(fields).toString(),
});

for (const backend of testBackends()) {
  describe(`Single Logout on ${backend}: /oauth/logout, the SLO URL, back-channel logout`, () => {
    let t: TestApp;
    let now = NOW.getTime();
    let org: { id: string };
    let connection: { id: string; sp: { entityId: string; acsUrl: string; sloUrl: string } };
    let other: { id: string; sp: { entityId: string; acsUrl: string; sloUrl: string } };
    let app: { id: string; clientId: string; clientSecret: string };
    let spCert: ReturnType<typeof trustedCertificate>;
    let receiver: BackchannelReceiver;

    before(async () => {
      receiver = await startBackchannelReceiver();
      t = await createTestApp({ backend, clock: () => new Date(now), env: { LANYARD_ALLOW_PRIVATE_NETWORK: 'true' } });
      org = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Acme', domains: ['acme.test'] } })).json();
      connection = await create();
      other = await create();
      const created = await t.request({
        method: 'POST',
        url: '/v1/applications',
        payload: { name: 'App', redirectUris: [REDIRECT], postLogoutRedirectUris: [AFTER_LOGOUT], backchannelLogoutUri: receiver.url },
      });
      assert.equal(created.statusCode, 201, created.body);
      app = created.json();
      assert.deepEqual(created.json().postLogoutRedirectUris, [AFTER_LOGOUT]);
      const metadata = (await t.request({ method: 'GET', url: `/sso/saml/${connection.id}/metadata`, token: null })).body;
      const der = /<ds:X509Certificate>([^<]+)</.exec(metadata)![1]!;
      spCert = trustedCertificate(`-----BEGIN CERTIFICATE-----\n${der}\n-----END CERTIFICATE-----\n`);
      const jwks = (await t.request({ method: 'GET', url: '/oauth/jwks', token: null })).json();
      receiver.expect = { jwks, issuer: t.config.publicUrl, audience: app.clientId, now: () => new Date(now) };
    });
    after(async () => {
      await t.close();
      await receiver.close();
    });

    async function create(options: Record<string, unknown> = {}) {
      const saml = { idpEntityId: IDP, ssoUrl: 'https://idp.example.test/sso', sloUrl: IDP_SLO, certificates: [testKeys.idpCertPem] };
      const created = await t.request({
        method: 'POST',
        url: '/v1/connections',
        payload: { organizationId: org.id, type: 'saml', enabled: true, saml: { ...saml, ...options } },
      });
      assert.equal(created.statusCode, 201, created.body);
      return created.json();
    }

    /** A whole login on `conn` with SessionIndex `sessionIndex`: the id_token (with its sid). */
    async function login(conn = connection, sessionIndex = '_session-42'): Promise<{ idToken: string; sid: string }> {
      const url = testAuthorizationUrl(t, { client_id: app.clientId, redirect_uri: REDIRECT, scope: 'openid email', connection: conn.id });
      const code = codeFrom(await answerAtTestIdp(t, conn, await startAtIdp(t, url), { sessionIndex }));
      const idToken = (await exchangeCode(t, app, { code, redirectUri: REDIRECT })).id_token;
      const sid = decodeJwt(idToken).sid;
      assert.match(String(sid), /^ses_[0-9A-Z]{26}$/, 'the id_token carries sid');
      return { idToken, sid: String(sid) };
    }

    const endedAt = async (sid: string) =>
      (await t.db.selectFrom('sessions').select(['ended_at', 'ended_by']).where('id', '=', sid).executeTakeFirstOrThrow()).ended_by;
    const logout = (params: Record<string, string>) =>
      t.request({ method: 'GET', url: `/oauth/logout?${new URLSearchParams(params).toString()}`, token: null });
    const slo = (conn: { id: string }, rawQuery: string) =>
      t.request({ method: 'GET', url: `/sso/saml/${conn.id}/slo?${rawQuery}`, token: null });

    test('discovery names the end-session endpoint and back-channel logout with sid', async () => {
      const discovery = (await t.request({ method: 'GET', url: '/.well-known/openid-configuration', token: null })).json();
      assert.equal(discovery.end_session_endpoint, `${t.config.publicUrl}/oauth/logout`);
      assert.equal(discovery.backchannel_logout_supported, true);
      assert.equal(discovery.backchannel_logout_session_supported, true);
    });

    test('app-initiated: the session ends, the IdP gets a signed LogoutRequest, its LogoutResponse returns the browser with state', async () => {
      const { idToken, sid } = await login();
      const answer = await logout({ id_token_hint: idToken, post_logout_redirect_uri: AFTER_LOGOUT, state: 'bye-1' });
      assert.equal(answer.statusCode, 302, answer.body);
      assert.equal(await endedAt(sid), 'app');
      const location = new URL(answer.headers.location as string);
      assert.equal(location.origin + location.pathname, IDP_SLO);
      const query = readRedirectQuery(location.search.slice(1));
      assert.ok(query.ok);
      assert.ok(spCert.ok);
      assert.ok(
        verifyRedirectSignature(query.value, { trustedCerts: [spCert.value], allowSha1: false }, false).ok,
        'signed with the SP key',
      );
      const xml = inflateRawSync(Buffer.from(query.value.message, 'base64')).toString('utf8');
      assert.match(xml, /<samlp:LogoutRequest /);
      assert.match(xml, new RegExp(`<saml:NameID Format="${EMAIL_FORMAT}">alice@example.com</saml:NameID>`));
      assert.match(xml, /<samlp:SessionIndex>_session-42<\/samlp:SessionIndex>/);
      assert.match(xml, new RegExp(`Destination="${IDP_SLO}"`));
      const requestId = /ID="([^"]+)"/.exec(xml)![1]!;
      const relayState = query.value.relayState!;

      const response = (o: Parameters<typeof buildLogoutResponseXml>[0] = {}, keyPem?: string | null) =>
        redirectQuery(buildLogoutResponseXml({ inResponseTo: requestId, destination: connection.sp.sloUrl, issueInstant: at(-1), ...o }), {
          relayState,
          ...(keyPem !== undefined ? { keyPem } : {}),
        });
      const unsigned = await slo(connection, response({}, null));
      assert.equal(unsigned.statusCode, 403, 'an unsigned LogoutResponse is refused');
      assert.match(unsigned.body, /saml_signature_missing/);
      const forged = await slo(connection, response({}, testKeys.attackerKeyPem));
      assert.equal(forged.statusCode, 403, 'a LogoutResponse signed with another key is refused');
      const mismatched = await slo(connection, response({ inResponseTo: '_not-ours' }));
      assert.equal(mismatched.statusCode, 403, 'a LogoutResponse to another request is refused');
      const expired = await slo(connection, response({ issueInstant: at(-3600) }));
      assert.equal(expired.statusCode, 403, 'an old LogoutResponse is refused');
      const failed = await slo(connection, response({ statusCodes: [`${STATUS}Responder`] }));
      assert.equal(failed.statusCode, 403, 'a failed status is not taken for success');

      const back = await slo(connection, response());
      assert.equal(back.statusCode, 302, back.body);
      assert.equal(back.headers.location, `${AFTER_LOGOUT}?state=bye-1`);
      const replayed = await slo(connection, response());
      assert.equal(replayed.statusCode, 403, 'a LogoutResponse is used once');
      // The flow was taken: nothing is pending for the browser any more, so InResponseTo binds to nothing.
      assert.match(replayed.body, /saml_logout_in_response_to_mismatch/);
    });

    test('an expired id_token_hint is accepted; client_id alone returns at once; the signed-out page without a URI', async () => {
      const { idToken, sid } = await login(connection, '_session-expired-hint');
      now += 24 * 3600 * 1000;
      try {
        const answer = await logout({ id_token_hint: idToken });
        assert.equal(answer.statusCode, 200, answer.body);
        assert.match(answer.body, /signed out/);
        // The session had expired by then (8 h default): nothing left to end, nothing sent to the IdP.
        assert.equal(await endedAt(sid), null);
        // The expiry worker's step ends it, with its event.
        assert.ok((await expireSessions({ db: t.db, clock: () => new Date(now), random: randomBytes })) >= 1);
        assert.equal(await endedAt(sid), 'expiry');
      } finally {
        now = NOW.getTime();
      }
      const direct = await logout({ client_id: app.clientId, post_logout_redirect_uri: AFTER_LOGOUT, state: 's' });
      assert.equal(direct.statusCode, 302);
      assert.equal(direct.headers.location, `${AFTER_LOGOUT}?state=s`);
    });

    test('post_logout_redirect_uri is never open; a bad hint or a mismatched client_id is refused', async () => {
      const { idToken, sid } = await login();
      for (const uri of ['https://evil.example/steal', `${AFTER_LOGOUT}/`, `${AFTER_LOGOUT}?x=1`, REDIRECT]) {
        const answer = await logout({ id_token_hint: idToken, post_logout_redirect_uri: uri });
        assert.equal(answer.statusCode, 400, uri);
        assert.equal(answer.headers.location, undefined);
        assert.match(answer.body, /logout_redirect_uri_not_registered/);
      }
      const noClient = await logout({ post_logout_redirect_uri: AFTER_LOGOUT });
      assert.equal(noClient.statusCode, 400, 'without client_id or hint no URI is trusted');
      const [header, payload] = idToken.split('.');
      const forged = `${header}.${payload}.${Buffer.from('not a signature').toString('base64url')}`;
      const bad = await logout({ id_token_hint: forged, post_logout_redirect_uri: AFTER_LOGOUT });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /logout_id_token_hint_invalid/);
      const mismatch = await logout({ id_token_hint: idToken, client_id: 'client_other' });
      assert.equal(mismatch.statusCode, 400);
      assert.match(mismatch.body, /logout_client_mismatch/);
      assert.equal(await endedAt(sid), null, 'no refused logout ended the session');
      const post = await t.request({ method: 'POST', url: '/oauth/logout', token: null, ...form({ id_token_hint: idToken }) });
      assert.equal(post.statusCode, 302, 'POST works as GET; the session is sent on to the IdP');
      assert.equal(await endedAt(sid), 'app');
    });

    test('IdP-initiated: the matching sessions end, the app receives a valid logout_token, the IdP a signed Success', async () => {
      const first = await login(connection, '_idp-1');
      const untouched = await login(connection, '_idp-2');
      const foreign = await login(other, '_idp-1');
      receiver.received.length = 0;
      const request = (o: Parameters<typeof buildLogoutRequestXml>[0] = {}, keyPem?: string | null) =>
        redirectQuery(
          buildLogoutRequestXml({
            id: `_lr${randomBytes(6).toString('hex')}`,
            destination: connection.sp.sloUrl,
            issueInstant: at(-1),
            identifierXml: `<saml:NameID Format="${EMAIL_FORMAT}">alice@example.com</saml:NameID>`,
            sessionIndexes: ['_idp-1'],
            ...o,
          }),
          { relayState: 'idp-rs', ...(keyPem !== undefined ? { keyPem } : {}) },
        );
      assert.equal((await slo(connection, request({}, null))).statusCode, 403, 'unsigned refused');
      assert.equal((await slo(connection, request({}, testKeys.attackerKeyPem))).statusCode, 403, 'wrongly signed refused');
      assert.equal((await slo(connection, request({ issueInstant: at(-3600), notOnOrAfter: at(-3000) }))).statusCode, 403, 'expired');
      assert.equal(
        (await slo(connection, request({ destination: other.sp.sloUrl }))).statusCode,
        403,
        "a request addressed to another connection's SLO URL is refused",
      );
      assert.equal(await endedAt(first.sid), null, 'no refused request ended anything');

      const accepted = request();
      const answer = await slo(connection, accepted);
      assert.equal(answer.statusCode, 302, answer.body);
      const location = new URL(answer.headers.location as string);
      assert.equal(location.origin + location.pathname, IDP_SLO);
      const query = readRedirectQuery(location.search.slice(1));
      assert.ok(query.ok && spCert.ok);
      assert.equal(query.value.parameter, 'SAMLResponse');
      assert.equal(query.value.relayState, 'idp-rs', 'RelayState goes back unchanged');
      assert.ok(verifyRedirectSignature(query.value, { trustedCerts: [spCert.value], allowSha1: false }, false).ok);
      const xml = inflateRawSync(Buffer.from(query.value.message, 'base64')).toString('utf8');
      assert.match(xml, new RegExp(`<samlp:StatusCode Value="${STATUS}Success"/>`));

      assert.equal(await endedAt(first.sid), 'idp');
      assert.equal(await endedAt(untouched.sid), null, 'another SessionIndex is not ended');
      assert.equal(await endedAt(foreign.sid), null, "another connection's session with the same NameID is not ended");
      assert.equal(receiver.received.length, 1);
      const [token] = receiver.received;
      assert.ok(token?.ok, JSON.stringify(token));
      assert.equal(token.claims.sid, first.sid);
      assert.equal(token.claims.sub, decodeJwt(first.idToken).sub);

      const replay = await slo(connection, accepted);
      assert.equal(replay.statusCode, 403, 'a LogoutRequest is accepted once');
      assert.match(replay.body, /logout_request_replayed/);

      const events = (await t.request({ method: 'GET', url: '/v1/events?type=session.ended' })).json();
      assert.ok(
        events.data.some(
          (e: { summary: { sessionId: string; endedBy: string } }) => e.summary.sessionId === first.sid && e.summary.endedBy === 'idp',
        ),
      );
    });

    test('saml.allowUnsignedLogout: off by default; on, an unsigned LogoutRequest ends the session, a wrongly signed one still does not', async () => {
      const stored = await t.request({ method: 'GET', url: `/v1/connections/${connection.id}` });
      assert.equal(stored.json().saml.allowUnsignedLogout, false);
      const lenient = await create({ allowUnsignedLogout: true });
      assert.equal(lenient.saml.allowUnsignedLogout, true);
      assert.ok(
        lenient.warnings.some((w: string) => w.startsWith('saml.allowUnsignedLogout is on')),
        JSON.stringify(lenient.warnings),
      );
      const signedIn = await login(lenient, '_lenient');
      const request = (keyPem: string | null) =>
        redirectQuery(
          buildLogoutRequestXml({
            id: `_lr${randomBytes(6).toString('hex')}`,
            destination: lenient.sp.sloUrl,
            issueInstant: at(-1),
            identifierXml: `<saml:NameID Format="${EMAIL_FORMAT}">alice@example.com</saml:NameID>`,
            sessionIndexes: ['_lenient'],
          }),
          { keyPem },
        );
      const forged = await slo(lenient, request(testKeys.attackerKeyPem));
      assert.equal(forged.statusCode, 403, 'a signature by an unpinned key is refused even so');
      assert.equal(await endedAt(signedIn.sid), null);
      const unsigned = await slo(lenient, request(null));
      assert.equal(unsigned.statusCode, 302, unsigned.body);
      assert.equal(await endedAt(signedIn.sid), 'idp');
    });

    test('IdP-initiated over HTTP-POST; an application that cannot be told makes it PartialLogout', async () => {
      const { sid } = await login(connection, '_idp-post');
      receiver.status = 500;
      try {
        const xml = signPost(
          buildLogoutRequestXml({
            id: `_lr${randomBytes(6).toString('hex')}`,
            destination: connection.sp.sloUrl,
            issueInstant: at(-1),
            identifierXml: `<saml:NameID Format="${EMAIL_FORMAT}">alice@example.com</saml:NameID>`,
            sessionIndexes: ['_idp-post'],
          }),
        );
        const answer = await t.request({
          method: 'POST',
          url: `/sso/saml/${connection.id}/slo`,
          token: null,
          ...form({ SAMLRequest: postField(xml) }),
        });
        assert.equal(answer.statusCode, 302, answer.body);
        const query = readRedirectQuery(new URL(answer.headers.location as string).search.slice(1));
        assert.ok(query.ok);
        const response = inflateRawSync(Buffer.from(query.value.message, 'base64')).toString('utf8');
        assert.match(response, new RegExp(`<samlp:StatusCode Value="${STATUS}PartialLogout"/>`));
        assert.equal(await endedAt(sid), 'idp', 'the session is ended here all the same');
        const owed = () => t.db.selectFrom('backchannel_logouts').selectAll().where('session_id', '=', sid).executeTakeFirstOrThrow();
        assert.equal((await owed()).status, 'pending');
        assert.equal((await owed()).attempt_count, 1);
        assert.match(String((await owed()).last_error), /HTTP 500/);

        // Retried like a webhook: not before its delay, then delivered once the application answers.
        receiver.status = 200;
        receiver.received.length = 0;
        assert.equal(await t.deps.services.backchannel.step(), 0, 'not due yet');
        now += 10_000;
        assert.equal(await t.deps.services.backchannel.step(), 1);
        assert.equal((await owed()).status, 'delivered');
        assert.equal((await owed()).attempt_count, 2);
        const [token] = receiver.received;
        assert.ok(token?.ok, JSON.stringify(token));
        assert.equal(token.claims.sid, sid);
        assert.equal(await t.deps.services.backchannel.step(), 0, 'delivered once');
      } finally {
        receiver.status = 200;
        now = NOW.getTime();
      }
    });

    test('hostile input to the SLO URL gets a page, never a 500', async () => {
      for (const query of [
        '',
        'SAMLRequest=%%%',
        'SAMLRequest=a&SAMLRequest=b',
        'SAMLResponse=AAAA&RelayState=x',
        'SAMLRequest=x&SAMLResponse=y',
      ]) {
        const answer = await slo(connection, query);
        assert.ok(answer.statusCode >= 400 && answer.statusCode < 500, `${query}: ${answer.statusCode}`);
        assert.match(String(answer.headers['content-type']), /text\/html/);
      }
      const unknown = await slo({ id: 'conn_nope' }, 'SAMLRequest=x');
      assert.equal(unknown.statusCode, 404);
    });
  });
}
