// Issue 16's proof against a real IdP: SimpleSAMLphp rotates its signing key behind its metadata URL
// and logins keep working with no API call but a metadata refresh; a metadata URL that fails changes
// nothing and is recorded; a key switched without notice is renewed through a certificate-renewal
// ticket's page; and SimpleSAMLphp, requiring signed AuthnRequests, keeps accepting them across a
// rotation of Lanyard's SP key.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { requireOrSkip } from '../support/environment.ts';
import { createApplication, relyingParty, startLanyard, type ListeningLanyard } from '../support/lanyard-server.ts';
import { loginWithSimpleSamlPhp, postToAcs, signInWithSimpleSamlPhp } from '../support/saml-idp-driver.ts';
import { createTicket, getWithSession, openSetup, postSetup, textOf } from '../support/setup-page.ts';
import {
  simpleSamlPhpAvailability,
  startSimpleSamlPhp,
  trustSpSigningCertificates,
  type SimpleSamlPhpIdp,
  type SimpleSamlPhpOptions,
} from '../support/simplesamlphp.ts';

// Lanyard's next SP key signs this long after it is published (LANYARD_KEY_ROLLOVER_SECONDS).
const KEY_ROLLOVER_SECONDS = 3;

const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;
const fileFingerprint = async (file: string) => fingerprintOf(await readFile(file, 'utf8'));

function available(t: TestContext): boolean {
  const idp = simpleSamlPhpAvailability();
  return requireOrSkip(t, idp.available, idp.reason);
}

describe('certificate rotation against SimpleSAMLphp', () => {
  let lanyard: ListeningLanyard;
  const idps: SimpleSamlPhpIdp[] = [];
  const files: string[] = [];
  before(async () => {
    lanyard = await startLanyard({ env: { LANYARD_KEY_ROLLOVER_SECONDS: String(KEY_ROLLOVER_SECONDS) } });
  });
  after(async () => {
    await Promise.all(idps.map((idp) => idp.stop()));
    await Promise.all(files.map((file) => rm(file, { force: true })));
    await lanyard.close();
  });

  /** An organization, a draft SAML connection, the IdP started for its SP values (`idpFor`), then the connection read from the IdP's metadata URL. */
  async function connect(
    idpFor: (sp: { entityId: string; acsUrl: string; metadataUrl: string }) => Promise<Partial<SimpleSamlPhpOptions>>,
    saml: Record<string, unknown> = {},
  ) {
    const org = (await lanyard.request({ method: 'POST', url: '/v1/organizations', payload: { name: `Org ${Math.random()}` } })).json();
    const draft = await lanyard.request({
      method: 'POST',
      url: '/v1/connections',
      payload: { organizationId: org.id, type: 'saml', name: 'SimpleSAMLphp' },
    });
    assert.equal(draft.statusCode, 201, draft.body);
    const connection = draft.json<{ id: string; sp: { entityId: string; acsUrl: string; metadataUrl: string } }>();
    const idp = await startSimpleSamlPhp({
      spEntityId: connection.sp.entityId,
      acsUrl: connection.sp.acsUrl,
      ...(await idpFor(connection.sp)),
    });
    idps.push(idp);
    const configured = await lanyard.request({
      method: 'PATCH',
      url: `/v1/connections/${connection.id}`,
      payload: { enabled: true, saml: { metadataUrl: idp.metadataUrl, ...saml } },
    });
    assert.equal(configured.statusCode, 200, configured.body);
    const application = await createApplication(lanyard);
    const rp = await relyingParty(lanyard.url, application);
    const login = async () => signInWithSimpleSamlPhp((await rp.begin({ organization: org.id })).url, 'alice');
    /** alice signs in through the app, the IdP and the ACS, and the app gets her email. */
    const loginWorks = async (when: string) => {
      const begun = await rp.begin({ organization: org.id });
      const { status, location, body } = await signInWithSimpleSamlPhp(begun.url, 'alice');
      assert.equal(status, 302, `${when}: ${body.slice(0, 2000)}`);
      const { claims } = await rp.finish(location!, begun);
      assert.equal(claims.email, 'alice@example.com', when);
    };
    const read = async () => (await lanyard.request({ method: 'GET', url: `/v1/connections/${connection.id}` })).json();
    const trusted = async () => ((await read()).saml.certificates as { fingerprintSha256: string }[]).map((c) => c.fingerprintSha256);
    return { org, connection, idp, login, loginWorks, read, trusted };
  }

  test('the IdP rolls its key over behind its metadata URL: logins never stop, with no API call but a refresh', async (t) => {
    if (!available(t)) return;
    const setup = await connect(async () => ({}));
    const { connection, loginWorks, trusted } = setup;
    const refresh = () => lanyard.request({ method: 'POST', url: `/v1/connections/${connection.id}/refresh` });
    const oldFp = await fileFingerprint(setup.idp.certFile);
    assert.deepEqual(await trusted(), [oldFp]);
    await loginWorks('before the rollover');

    // The IdP publishes its next certificate while it signs with the current one.
    let idp = await setup.idp.restart({ keyRollover: 'publish-next-key' });
    assert.ok(idp.nextCertFile, 'the IdP publishes a next certificate');
    const nextFp = await fileFingerprint(idp.nextCertFile);
    const published = await refresh();
    assert.equal(published.statusCode, 200, published.body);
    assert.equal(published.json().lastRefresh.outcome, 'updated');
    assert.deepEqual((await trusted()).sort(), [oldFp, nextFp].sort(), 'the next certificate is trusted as soon as it is published');
    await loginWorks('with the next certificate published');

    // The IdP signs with the next key and drops the old certificate: already trusted, so no outage even before a refresh.
    idp = await idp.restart({ keyRollover: 'promote-next-key' });
    assert.equal(await fileFingerprint(idp.certFile), nextFp);
    await loginWorks('promoted, before the refresh');
    const promoted = await refresh();
    assert.equal(promoted.statusCode, 200, promoted.body);
    assert.deepEqual(await trusted(), [nextFp], 'the old certificate is dropped once the metadata no longer lists it');
    await loginWorks('promoted, after the refresh');

    // The metadata URL stops answering: the refresh fails, is recorded, and changes nothing.
    await idp.pause();
    const failed = await refresh();
    assert.equal(failed.statusCode, 422, failed.body);
    assert.equal(failed.json().code, 'metadata_fetch_failed');
    const afterFailure = await setup.read();
    assert.equal(afterFailure.lastRefresh.outcome, 'failed');
    assert.ok(afterFailure.lastRefresh.message, 'the failure says what went wrong');
    assert.equal(afterFailure.saml.metadataUrl, idp.metadataUrl);
    assert.deepEqual(await trusted(), [nextFp]);
    const events = (
      await lanyard.request({ method: 'GET', url: `/v1/events?organizationId=${setup.org.id}&type=connection.metadata_refresh_failed` })
    ).json().data;
    assert.equal(events.length, 1);
    await idp.restart();
    await loginWorks('after the failed refresh, the IdP back');
  });

  test('a key switched without notice: sign-ins fail until a certificate-renewal ticket, tested through its page, renews it', async (t) => {
    if (!available(t)) return;
    const setup = await connect(async () => ({}));
    const { connection, loginWorks, login, trusted } = setup;
    await loginWorks('before');
    const idp = await setup.idp.restart({ keyRollover: 'new-key' });
    const newPem = await readFile(idp.certFile, 'utf8');
    const broken = await login();
    assert.equal(broken.status, 403, 'the new key is not trusted');
    assert.match(broken.body, /saml_untrusted_certificate|saml_signature_invalid/);

    const ticket = await createTicket(lanyard, setup.org.id, { type: 'certificate-renewal', connectionId: connection.id });
    const { session } = await openSetup(lanyard, ticket.ticketUrl);
    const saved = await postSetup(lanyard, session, 'candidate', { source: 'certificate', 'renewal.certificate': newPem });
    assert.equal(saved.statusCode, 303, saved.body);
    const page = textOf((await getWithSession(lanyard, session)).body);
    assert.ok(page.includes(fingerprintOf(newPem)), 'the page shows the candidate fingerprint');

    // The test sign-in goes through the real IdP and trusts the candidate; the live connection is still broken.
    const started = await postSetup(lanyard, session, 'test');
    assert.equal(started.statusCode, 303, started.body);
    const samlForm = await loginWithSimpleSamlPhp({
      startUrl: started.headers.location as string,
      username: 'alice',
      password: 'alice-pass',
    });
    const acs = await postToAcs(samlForm);
    assert.equal(acs.status, 302, acs.body);
    assert.match(acs.location!, /\/setup\/tests\/lgn_[0-9A-Z]{26}$/);
    const result = textOf((await getWithSession(lanyard, session, new URL(acs.location!).pathname)).body);
    assert.doesNotMatch(result, /Test sign-in failed/);
    assert.match(result, /alice@example\.com/);
    assert.equal((await login()).status, 403, 'the test changed nothing for sign-ins');

    const renewed = await postSetup(lanyard, session, 'renew');
    assert.equal(renewed.statusCode, 303, renewed.body);
    assert.deepEqual(await trusted(), [fingerprintOf(newPem)]);
    await loginWorks('after the renewal');
  });

  test('SimpleSAMLphp, requiring signed AuthnRequests, keeps accepting them across a rotation of the SP key', async (t) => {
    if (!available(t)) return;
    const spCertificates = async (metadataUrl: string) => {
      const xml = await (await fetch(metadataUrl)).text();
      const bodies = [...xml.matchAll(/<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/g)].map((m) => m[1]!.replace(/\s+/g, ''));
      return [...new Set(bodies)].map(
        (b) => `-----BEGIN CERTIFICATE-----\n${b.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`,
      );
    };
    const spKey = async (state: 'current' | 'next') => {
      const keys = (await lanyard.request({ method: 'GET', url: '/v1/keys' })).json().data as {
        purpose: string;
        state: string;
        activatesAt: string | null;
        certificate: { fingerprintSha256: string } | null;
      }[];
      return keys.find((k) => k.purpose === 'saml-sp' && k.state === state);
    };
    const pemOf = async (metadataUrl: string, fingerprint: string) => {
      const pem = (await spCertificates(metadataUrl)).find((p) => fingerprintOf(p) === fingerprint);
      assert.ok(pem, `the SP metadata lists ${fingerprint}`);
      return pem;
    };
    let currentPem = '';
    const setup = await connect(
      async (sp) => {
        currentPem = await pemOf(sp.metadataUrl, (await spKey('current'))!.certificate!.fingerprintSha256);
        const file = join(tmpdir(), `lanyard-sp-signing-${Math.random().toString(16).slice(2)}.pem`);
        files.push(file);
        await writeFile(file, currentPem);
        return { requireSignedRequests: true, spSigningCert: file };
      },
      { signRequests: true },
    );
    const { connection, loginWorks } = setup;
    await loginWorks('before the rotation');
    // The IdP does check: an unsigned AuthnRequest is refused.
    await lanyard.request({ method: 'PATCH', url: `/v1/connections/${connection.id}`, payload: { saml: { signRequests: false } } });
    await assert.rejects(setup.login(), 'an unsigned AuthnRequest is refused');
    await lanyard.request({ method: 'PATCH', url: `/v1/connections/${connection.id}`, payload: { saml: { signRequests: true } } });
    await loginWorks('signed again');

    const rotated = await lanyard.request({ method: 'POST', url: '/v1/keys/rotate', payload: { purposes: ['saml-sp'] } });
    assert.equal(rotated.statusCode, 200, rotated.body);
    const next = (await spKey('next'))!;
    const nextPem = await pemOf(connection.sp.metadataUrl, next.certificate!.fingerprintSha256);
    // The IdP reads the SP metadata, which now lists both certificates.
    await trustSpSigningCertificates(setup.idp, [currentPem, nextPem]);
    await loginWorks('the next SP key published, the current one signing');

    const wait = Date.parse(next.activatesAt!) - Date.now() + 500;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
    assert.equal((await spKey('current'))!.certificate!.fingerprintSha256, next.certificate!.fingerprintSha256, 'the next key signs now');
    await loginWorks('the next SP key signing');
    // Once the IdP forgets the old certificate (its next read of the metadata), only the new key's signatures count.
    await trustSpSigningCertificates(setup.idp, [nextPem]);
    await loginWorks('the IdP trusting only the new SP certificate');
  });
});
