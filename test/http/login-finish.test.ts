// The transactions that end a login: the single-use checks and the writes after them commit
// together or not at all (on the embedded database too, whose single connection a stray query
// outside the transaction would deadlock).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createApplicationService } from '../../src/domain/applications/applications.ts';
import { createLoginFinish, type LoginFinish, type VerifiedLogin } from '../../src/domain/login/finish.ts';
import { createTestSignInResults } from '../../src/domain/tickets/test-results.ts';
import { markConnectionUsed } from '../../src/storage/connections.ts';
import { findLoginFlow } from '../../src/storage/login-flows.ts';
import { rememberAssertion } from '../../src/storage/saml-assertions.ts';
import { IDP, NOW, testKeys } from '../support/saml-builder.ts';
import { createTestApp, testBackends, type TestApp } from '../support/app.ts';

for (const backend of testBackends()) {
  describe(`ending a login on ${backend}`, () => {
    let t: TestApp;
    let now = NOW.getTime();
    const clock = () => new Date(now);
    let completion: LoginFinish;
    let login: (assertionId: string) => VerifiedLogin;
    let startFlow: () => Promise<string>;
    let connectionId: string;

    before(async () => {
      t = await createTestApp({ backend, clock });
      const org = (await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Acme' } })).json();
      const payload = {
        organizationId: org.id,
        type: 'saml',
        enabled: true,
        saml: { idpEntityId: IDP, ssoUrl: 'https://idp.example.test/sso', certificates: [testKeys.idpCertPem] },
      };
      const connection = (await t.request({ method: 'POST', url: '/v1/connections', payload })).json();
      connectionId = connection.id;
      const app = (
        await t.request({ method: 'POST', url: '/v1/applications', payload: { name: 'App', redirectUris: ['https://app.example.com/cb'] } })
      ).json();
      completion = createLoginFinish({
        db: t.db,
        clock,
        random: randomBytes,
        sealer: t.deps.sealer,
        applications: createApplicationService({ db: t.db, clock, random: randomBytes }),
        testSignIns: createTestSignInResults({ clock, random: randomBytes }),
        config: t.config,
        loginMetrics: t.deps.metrics.logins,
      });
      const profile = {
        idpId: 'alice',
        email: 'alice@example.com',
        emailVerified: null,
        firstName: null,
        lastName: null,
        groups: [],
        rawAttributes: {},
        organizationId: org.id,
        connectionId: connection.id,
        connectionType: 'saml' as const,
      };
      login = (assertionId) => ({
        profile,
        connection: { id: connection.id, state: 'active', lastUsedAt: clock() },
        assertion: { connectionId: connection.id, assertionId, expiresAt: new Date(now + 300_000) },
      });
      startFlow = async () => {
        // The challenge of RFC 7636 Appendix B: PKCE is required of every application by default.
        const pkce = { code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };
        const query = new URLSearchParams({ response_type: 'code', client_id: app.clientId, connection: connection.id, ...pkce });
        const started = await t.request({ method: 'GET', url: `/oauth/authorize?${query.toString()}`, token: null });
        return new URL(started.headers.location as string).searchParams.get('RelayState')!;
      };
    });
    after(async () => t.close());

    const flowRow = async (id: string) => await t.db.selectFrom('login_flows').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const count = async (table: 'authorization_codes' | 'events') =>
      Number(
        (
          await t.db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );

    test('a replayed assertion rolls the success back whole: the flow stays pending, no code, no event', async () => {
      const flow = await flowRow(await startFlow());
      await rememberAssertion(t.db, login('_seen').assertion!);
      const [codes, events] = [await count('authorization_codes'), await count('events')];
      assert.deepEqual(await completion.succeed(flow, login('_seen'), null), { ok: false, error: 'replayed' });
      const after = await flowRow(flow.id);
      assert.deepEqual([after.returned_at, after.completed_at, after.failure_code], [null, null, null]);
      assert.deepEqual([await count('authorization_codes'), await count('events')], [codes, events]);
      // The refusal then uses the flow up (one transaction: the flow and the event), so nothing can succeed on it.
      const failed = await completion.fail(
        {
          flow,
          organizationId: flow.organization_id,
          connectionId: flow.connection_id,
          connectionType: 'saml',
          code: 'saml_replayed',
          message: 'replayed',
        },
        null,
      );
      assert.deepEqual(failed, { ok: true, value: undefined });
      assert.equal((await flowRow(flow.id)).failure_code, 'saml_replayed');
      assert.deepEqual(await completion.succeed(flow, login('_fresh'), null), { ok: false, error: 'flow_taken' });
      assert.equal(await count('authorization_codes'), codes);
    });

    test('of two responses that read one flow pending, exactly one ends it; the other writes nothing', async () => {
      const flow = await flowRow(await startFlow());
      const [codes, events] = [await count('authorization_codes'), await count('events')];
      const ended = await Promise.all([completion.succeed(flow, login('_one'), null), completion.succeed(flow, login('_two'), null)]);
      assert.deepEqual(ended.map((e) => e.ok).sort(), [false, true]);
      assert.deepEqual(
        ended.find((e) => !e.ok),
        { ok: false, error: 'flow_taken' },
      );
      assert.deepEqual([await count('authorization_codes'), await count('events')], [codes + 1, events + 1]);
      // Nor does a failing response that read it pending: the outcome stays the winner's.
      const failed = await completion.fail(
        {
          flow,
          organizationId: flow.organization_id,
          connectionId: flow.connection_id,
          connectionType: 'saml',
          code: 'saml_signature_invalid',
          message: 'bad',
        },
        null,
      );
      assert.deepEqual(failed, { ok: false, error: 'flow_taken' });
      assert.equal(await count('events'), events + 1);
      const row = await flowRow(flow.id);
      assert.ok(row.completed_at !== null && row.failure_code === null);
      // The losing response's assertion stays remembered (the grant is one statement): it can sign no one in later either.
      assert.equal(await rememberAssertion(t.db, login(ended[0].ok ? '_two' : '_one').assertion!), false);
      const retried = await completion.succeed(await flowRow(await startFlow()), login(ended[0].ok ? '_two' : '_one'), null);
      assert.deepEqual(retried, { ok: false, error: 'replayed' });
      assert.deepEqual([await count('authorization_codes'), await count('events')], [codes + 1, events + 1], 'a replay writes nothing');
    });

    // Only on PostgreSQL: PGlite has one session, so no other login can hold the row meanwhile.
    if (backend !== 'pglite')
      test('a login does not wait for another one marking the same connection used', async () => {
        const first = new Date(now + 60 * 60_000);
        await t.db.transaction().execute(async (trx) => {
          await markConnectionUsed(trx, connectionId, first);
          const other = markConnectionUsed(t.db, connectionId, new Date(first.getTime() + 60 * 60_000));
          const waited = await Promise.race([
            other.then(() => false),
            new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 2000)),
          ]);
          assert.equal(waited, false, 'the second mark waited for the row lock');
        });
        const row = await t.db.selectFrom('connections').select('last_used_at').where('id', '=', connectionId).executeTakeFirstOrThrow();
        assert.deepEqual(row.last_used_at, first);
      });

    test('an expired flow that fails is recorded but not marked returned, each time', async () => {
      const id = await startFlow();
      now += 11 * 60_000;
      for (let i = 0; i < 2; i++) {
        const flow = (await findLoginFlow(t.db, { upstreamRequestId: (await flowRow(id)).upstream_request_id!, connectionType: 'saml' }))!;
        assert.equal(completion.isPending(flow), false);
        const failed = await completion.fail(
          {
            flow,
            organizationId: flow.organization_id,
            connectionId: flow.connection_id,
            connectionType: 'saml',
            code: 'oidc_login_expired',
            message: 'expired',
          },
          null,
        );
        assert.equal(failed.ok, true);
        const row = await flowRow(id);
        assert.deepEqual([row.returned_at, row.failure_code], [null, 'oidc_login_expired']);
      }
    });
  });
}
