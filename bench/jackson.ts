/**
 * `@boxyhq/saml-jackson`'s full SP-initiated login, in process, on its memory engine: authorize →
 * (IdP signs, untimed) → samlResponse (its ACS) → token → userInfo, through the same controller
 * calls its Next.js API routes make. The same generated responses and checks as Lanyard's login.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { ownCpuMeter } from './cpu.ts';
import { loadJackson, peerVersion, type JacksonControllers } from './peers.ts';
import { authnRequestIdFromRedirect, generateResponse, testKeys, toPostBinding } from './responses.ts';
import type { LoginStack, PreparedLogin } from './login.ts';

const EXTERNAL_URL = 'http://127.0.0.1:5225';
const SAML_PATH = '/api/oauth/saml';
const AUDIENCE = 'https://saml.bench.test';
const IDP_ENTITY_ID = 'https://idp.bench.test/jackson/metadata';
const REDIRECT_URI = 'http://127.0.0.1:5226/callback';

function idpMetadata(): string {
  const cert = testKeys.idpCertPem.replace(/-----[^-]+-----|\s+/g, '');
  return (
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${IDP_ENTITY_ID}">` +
    `<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
    `<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
    `<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>` +
    `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="http://127.0.0.1:5227/idp/sso"/>` +
    `</md:IDPSSODescriptor></md:EntityDescriptor>`
  );
}

/** Jackson keeps its id_token signing keys as base64 of PEM. */
function jwtSigningKeys(): { private: string; public: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const b64 = (pem: string) => Buffer.from(pem, 'utf8').toString('base64');
  return {
    private: b64(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string),
    public: b64(publicKey.export({ type: 'spki', format: 'pem' }) as string),
  };
}

const quiet = { info: () => {}, warn: () => {}, error: (message: string) => process.stderr.write(`jackson: ${message}\n`) };

/** Starts Jackson in this process on `engine: 'mem'` with one SAML connection for the benchmark IdP. */
export async function startJackson(): Promise<LoginStack & { version: string }> {
  process.env.BOXYHQ_NO_ANALYTICS ??= '1';
  const { controllers } = await loadJackson();
  const jackson: JacksonControllers = await controllers({
    externalUrl: EXTERNAL_URL,
    samlPath: SAML_PATH,
    samlAudience: AUDIENCE,
    db: { engine: 'mem' },
    noAnalytics: true,
    openid: { jwsAlg: 'RS256', jwtSigningKeys: jwtSigningKeys() },
    logger: quiet,
  });
  const connection = await jackson.connectionAPIController.createSAMLConnection({
    rawMetadata: idpMetadata(),
    defaultRedirectUrl: REDIRECT_URI,
    redirectUrl: JSON.stringify([REDIRECT_URI]),
    tenant: 'bench.test',
    product: 'lanyard-bench',
    name: 'Bench IdP',
  });
  const { oauthController } = jackson;
  const acsUrl = `${EXTERNAL_URL}${SAML_PATH}`;

  return {
    name: 'jackson (in-process, mem)',
    cpu: ownCpuMeter,
    version: await peerVersion('@boxyhq/saml-jackson'),
    prepare(count: number): PreparedLogin[] {
      return Array.from({ length: count }, () => {
        const verifier = randomBytes(32).toString('base64url');
        return {
          verifier,
          challenge: createHash('sha256').update(verifier).digest('base64url'),
          state: randomBytes(12).toString('base64url'),
          nonce: randomBytes(12).toString('base64url'),
        };
      });
    },
    async authorize(login) {
      const result = await oauthController.authorize({
        response_type: 'code',
        client_id: connection.clientID,
        redirect_uri: REDIRECT_URI,
        state: login.state,
        nonce: login.nonce,
        scope: 'openid email profile',
        code_challenge: login.challenge,
        code_challenge_method: 'S256',
      });
      if (result.redirect_url === undefined) throw new Error(`jackson authorize: ${JSON.stringify(result).slice(0, 300)}`);
      login.idpRedirect = result.redirect_url;
    },
    sign(login) {
      const { id, relayState } = authnRequestIdFromRedirect(login.idpRedirect!);
      login.relayState = relayState ?? '';
      const unique = randomBytes(8).toString('hex');
      login.samlResponse = toPostBinding(
        generateResponse({
          signed: 'assertion',
          idpEntityId: IDP_ENTITY_ID,
          spEntityId: AUDIENCE,
          acsUrl,
          inResponseTo: id,
          responseId: `_r${unique}`,
          assertionId: `_a${unique}`,
          issuedAt: new Date(),
          lifetimeSeconds: 600,
        }),
      );
    },
    async acs(login) {
      const result = await oauthController.samlResponse({ SAMLResponse: login.samlResponse!, RelayState: login.relayState! });
      if (result.redirect_url === undefined) throw new Error(`jackson samlResponse: ${JSON.stringify(result).slice(0, 300)}`);
      const back = new URL(result.redirect_url);
      const code = back.searchParams.get('code');
      if (code === null || back.searchParams.get('state') !== login.state)
        throw new Error(`jackson samlResponse: no code or wrong state in ${result.redirect_url}`);
      login.code = code;
    },
    async token(login) {
      const result = await oauthController.token({
        grant_type: 'authorization_code',
        code: login.code,
        redirect_uri: REDIRECT_URI,
        client_id: connection.clientID,
        client_secret: connection.clientSecret,
        code_verifier: login.verifier,
      });
      if (!result.access_token || !result.id_token) throw new Error(`jackson token: ${JSON.stringify(result).slice(0, 300)}`);
      login.accessToken = result.access_token;
    },
    async userinfo(login) {
      const profile = await oauthController.userInfo(login.accessToken!);
      if (profile.email !== 'alice@example.com') throw new Error(`jackson userInfo: ${JSON.stringify(profile).slice(0, 300)}`);
    },
  };
}
