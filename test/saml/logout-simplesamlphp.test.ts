/**
 * Single Logout against a real IdP (SimpleSAMLphp from ../shared/idp), with a loopback HTTP server
 * standing in for Lanyard's SLO endpoint: it hands the raw query string it received to the
 * verifiers and answers as the routes will. Alice logs in at the IdP (no browser), then
 * (a) the IdP starts the logout: its LogoutRequest is verified, and the IdP accepts the signed
 *     LogoutResponse (it goes on to its ReturnTo only then);
 * (b) Lanyard starts it: the IdP accepts the signed LogoutRequest, its LogoutResponse verifies, and
 *     the IdP session is gone (a new SSO request asks for the password again).
 * Each positive case has a negative twin (a key the IdP does not trust), so the checks can fail.
 */
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, test, type TestContext } from 'node:test';
import { createAuthnRequest, encodeRedirectBinding } from '../../src/domain/saml/authn-request.ts';
import { createLogoutRequest, type LogoutNameId } from '../../src/domain/saml/logout-request.ts';
import type { SamlError } from '../../src/domain/saml/errors.ts';
import { trustedCertificate } from '../../src/domain/saml/signature.ts';
import { verifySamlResponse } from '../../src/domain/saml/verify-response.ts';
import { attr, descendants, isElement, NS, parseXml } from '../../src/domain/saml/xml.ts';
import type { Result } from '../../src/domain/result.ts';
import { requireOrSkip } from '../support/environment.ts';
import { SLO_STAND_IN_SKEW, startSloStandIn, type SloStandIn } from '../support/slo-stand-in.ts';
import { spCertPath } from '../support/logout-builder.ts';
import {
  createCookieJar,
  followRedirects,
  loginWithSimpleSamlPhp,
  parseForms,
  findSamlPostForm,
  type CookieJar,
} from '../support/saml-idp-driver.ts';
import { testKeys } from '../support/saml-builder.ts';
import { simpleSamlPhpAvailability, startSimpleSamlPhp, type SimpleSamlPhpIdp } from '../support/simplesamlphp.ts';

const SKEW = SLO_STAND_IN_SKEW;

async function startIdp(t: TestContext, stand: SloStandIn, signLogout: boolean): Promise<SimpleSamlPhpIdp | undefined> {
  const { available, reason } = simpleSamlPhpAvailability();
  if (!requireOrSkip(t, available, reason)) return undefined;
  const idp = await startSimpleSamlPhp({
    spEntityId: stand.spEntityId,
    acsUrl: stand.acsUrl,
    sloUrl: stand.sloUrl,
    spSigningCert: fileURLToPath(spCertPath),
    signLogout,
  });
  const trusted = trustedCertificate(readFileSync(idp.certFile, 'utf8'));
  if (!trusted.ok) throw new Error(trusted.error.message);
  stand.idp = { entityId: idp.entityId, sloUrl: idp.sloUrl, trusted: trusted.value };
  return idp;
}

/** An SP-initiated SSO URL for the stand-in SP. */
function ssoUrl(idp: SimpleSamlPhpIdp, stand: SloStandIn): { url: string; id: string } {
  const request = createAuthnRequest(
    { now: new Date(), destination: idp.ssoUrl, acsUrl: stand.acsUrl, issuer: stand.spEntityId },
    { randomBytes },
  );
  return { url: encodeRedirectBinding({ ssoUrl: idp.ssoUrl, xml: request.xml }).url, id: request.id };
}

/** Logs alice in and returns the session as Lanyard will record it: the NameID with its qualifiers, and SessionIndex. */
async function loginAlice(
  idp: SimpleSamlPhpIdp,
  stand: SloStandIn,
  jar: CookieJar,
): Promise<{ nameId: LogoutNameId; sessionIndex: string }> {
  const start = ssoUrl(idp, stand);
  const form = await loginWithSimpleSamlPhp({ startUrl: start.url, username: 'alice', password: 'alice-pass', jar });
  const xml = Buffer.from(form.SAMLResponse, 'base64').toString('utf8');
  const verified = verifySamlResponse({
    xml,
    idpEntityId: idp.entityId,
    trustedCerts: [stand.idp?.trusted ?? assert.fail('no IdP')],
    spEntityId: stand.spEntityId,
    acsUrl: stand.acsUrl,
    now: new Date(),
    clockSkewSeconds: SKEW,
    expectedInResponseTo: start.id,
    allowIdpInitiated: false,
  });
  if (!verified.ok) assert.fail(`login: ${verified.error.code}: ${verified.error.message}`);
  // The verifier does not return the NameID qualifiers yet (the session store will need them): read them
  // here from the response it has just verified (one Assertion, one Subject, one NameID).
  const parsed = parseXml(xml);
  assert.ok(parsed.ok);
  const nameIds = [...descendants(parsed.value.root)].filter((el) => isElement(el, NS.saml, 'NameID'));
  assert.equal(nameIds.length, 1);
  const element = nameIds[0] ?? assert.fail('no NameID');
  assert.ok(verified.value.sessionIndex !== null, 'SimpleSAMLphp sends a SessionIndex');
  return {
    nameId: {
      value: verified.value.nameId,
      format: attr(element, 'Format') ?? null,
      nameQualifier: attr(element, 'NameQualifier') ?? null,
      spNameQualifier: attr(element, 'SPNameQualifier') ?? null,
      spProvidedId: attr(element, 'SPProvidedID') ?? null,
    },
    sessionIndex: verified.value.sessionIndex,
  };
}

/** Whether the IdP still has a session in `jar`: a new SSO request is answered at once, without the password page. */
async function idpSessionAlive(idp: SimpleSamlPhpIdp, stand: SloStandIn, jar: CookieJar): Promise<boolean> {
  const page = await followRedirects(jar, ssoUrl(idp, stand).url);
  const asksPassword = parseForms(page.body, page.url).some((form) => form.fields.AuthState !== undefined);
  const answered = findSamlPostForm(page.body, page.url) !== undefined;
  assert.notEqual(asksPassword, answered, `neither a login form nor a SAMLResponse at ${page.url}`);
  return answered;
}

function okValue<T>(result: Result<T, SamlError> | undefined): T {
  assert.ok(result !== undefined, 'nothing arrived at the SLO endpoint');
  if (!result.ok) assert.fail(`${result.error.code}: ${result.error.message}`);
  return result.value;
}

describe('Single Logout with SimpleSAMLphp (signed logout messages)', { timeout: 360_000 }, () => {
  test('(a) IdP-initiated: its LogoutRequest verifies, and it accepts Lanyard’s signed LogoutResponse', async (t) => {
    const stand = await startSloStandIn();
    try {
      const idp = await startIdp(t, stand, true);
      if (idp === undefined) return;
      try {
        const jar = createCookieJar();
        const session = await loginAlice(idp, stand, jar);
        const returnTo = new URL('/logged-out', idp.sloUrl).href;
        const logout = await followRedirects(jar, idp.idpLogoutUrl, {}, { stopAt: (url) => url.href === returnTo });
        const request = okValue(stand.requests.at(-1));
        assert.equal(stand.requests.length, 1);
        // The session as at login: NameID with Format and SPNameQualifier, the assertion's SessionIndex.
        assert.deepEqual(request.nameId, session.nameId);
        assert.deepEqual(request.sessionIndexes, [session.sessionIndex]);
        assert.equal(request.binding, 'redirect');
        assert.equal(request.signed, true);
        assert.equal(request.signingCertificateFingerprintSha256, stand.idp?.trusted.fingerprintSha256);
        assert.equal(request.issuer, idp.entityId);
        assert.equal(request.destination, stand.sloUrl);
        assert.ok(request.notOnOrAfter !== null && request.relayState !== null);
        // The IdP went on to its ReturnTo only because it accepted the LogoutResponse.
        assert.equal(logout.stoppedAt, returnTo, `the IdP did not finish the logout: ${logout.body.slice(0, 500)}`);
        assert.equal(await idpSessionAlive(idp, stand, jar), false);
      } finally {
        await idp.stop();
      }
    } finally {
      await stand.close();
    }
  });

  test('(a) negative: a LogoutResponse signed with a key the IdP does not trust is refused by it', async (t) => {
    const stand = await startSloStandIn();
    try {
      const idp = await startIdp(t, stand, true);
      if (idp === undefined) return;
      try {
        const jar = createCookieJar();
        await loginAlice(idp, stand, jar);
        stand.answerKey = testKeys.attackerSpKey;
        const returnTo = new URL('/logged-out', idp.sloUrl).href;
        const logout = await followRedirects(jar, idp.idpLogoutUrl, {}, { stopAt: (url) => url.href === returnTo });
        okValue(stand.requests.at(-1));
        assert.equal(logout.stoppedAt, undefined, 'the IdP accepted a LogoutResponse it cannot verify');
        assert.match(logout.body, /Unhandled exception|error/i);
      } finally {
        await idp.stop();
      }
    } finally {
      await stand.close();
    }
  });

  test('(b) SP-initiated: the IdP accepts Lanyard’s signed LogoutRequest, its LogoutResponse verifies, the session is gone', async (t) => {
    const stand = await startSloStandIn();
    try {
      const idp = await startIdp(t, stand, true);
      if (idp === undefined) return;
      try {
        const jar = createCookieJar();
        const session = await loginAlice(idp, stand, jar);
        assert.equal(await idpSessionAlive(idp, stand, jar), true, 'after login, the IdP answers without asking for the password');

        // A LogoutRequest the IdP cannot verify ends nothing.
        const forged = createLogoutRequest(
          {
            now: new Date(),
            destination: idp.sloUrl,
            issuer: stand.spEntityId,
            nameId: session.nameId,
            sessionIndexes: [session.sessionIndex],
          },
          { randomBytes },
        );
        assert.ok(forged.ok);
        const refusedByIdp = await followRedirects(
          jar,
          encodeRedirectBinding({ ssoUrl: idp.sloUrl, xml: forged.value.xml, relayState: 'lr-forged', signingKey: testKeys.attackerSpKey })
            .url,
        );
        assert.equal(stand.responses.length, 0, 'the IdP answered a LogoutRequest it cannot verify');
        assert.match(refusedByIdp.body, /Unhandled exception|error/i);
        assert.equal(await idpSessionAlive(idp, stand, jar), true);

        const request = createLogoutRequest(
          {
            now: new Date(),
            destination: idp.sloUrl,
            issuer: stand.spEntityId,
            nameId: session.nameId,
            sessionIndexes: [session.sessionIndex],
          },
          { randomBytes },
        );
        assert.ok(request.ok);
        stand.pendingRequestId = request.value.id;
        const relayState = `lr-${randomBytes(8).toString('hex')}`;
        const sent = encodeRedirectBinding({ ssoUrl: idp.sloUrl, xml: request.value.xml, relayState, signingKey: testKeys.spKey });
        const landed = await followRedirects(jar, sent.url);
        assert.equal(landed.body, 'logged out');
        const response = okValue(stand.responses.at(-1));
        assert.equal(response.inResponseTo, request.value.id);
        assert.equal(response.partialLogout, false);
        assert.deepEqual(response.statusCodes, ['urn:oasis:names:tc:SAML:2.0:status:Success']);
        assert.equal(response.relayState, relayState);
        assert.equal(response.signed, true);
        assert.equal(response.issuer, idp.entityId);
        assert.equal(await idpSessionAlive(idp, stand, jar), false, 'after logout, the IdP asks for the password again');
      } finally {
        await idp.stop();
      }
    } finally {
      await stand.close();
    }
  });
});

describe('Single Logout with SimpleSAMLphp (default: unsigned logout messages)', { timeout: 360_000 }, () => {
  test('its LogoutRequest is unsigned: refused by default, accepted where the connection allows it', async (t) => {
    const stand = await startSloStandIn();
    try {
      const idp = await startIdp(t, stand, false);
      if (idp === undefined) return;
      try {
        const returnTo = new URL('/logged-out', idp.sloUrl).href;
        const first = createCookieJar();
        await loginAlice(idp, stand, first);
        await followRedirects(first, idp.idpLogoutUrl, {}, { stopAt: (url) => url.href === returnTo });
        const strict = stand.requests.at(-1);
        assert.ok(strict !== undefined && !strict.ok);
        assert.equal(strict.error.code, 'saml_signature_missing');

        stand.allowUnsigned = true;
        const second = createCookieJar();
        const session = await loginAlice(idp, stand, second);
        const logout = await followRedirects(second, idp.idpLogoutUrl, {}, { stopAt: (url) => url.href === returnTo });
        const request = okValue(stand.requests.at(-1));
        assert.equal(request.signed, false);
        assert.equal(request.signingCertificateFingerprintSha256, null);
        assert.deepEqual(request.nameId, session.nameId);
        assert.deepEqual(request.sessionIndexes, [session.sessionIndex]);
        assert.equal(logout.stoppedAt, returnTo);
      } finally {
        await idp.stop();
      }
    } finally {
      await stand.close();
    }
  });
});
