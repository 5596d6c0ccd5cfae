/**
 * Part 2: the full SP-initiated login, phase by phase. A batch of N logins runs each phase for all
 * N at the given concurrency before the next phase starts: authorize, then (untimed) the IdP signs
 * one response per login, then ACS, token and userinfo. The IdP must answer the AuthnRequest ID
 * that authorize generated (InResponseTo), and that ID is random, so responses cannot be signed
 * before the run: they are signed between the authorize and ACS phases, off the clock.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { CpuMeter } from './cpu.ts';
import { cookiesFrom, form, type HttpClient } from './http.ts';
import { authnRequestIdFromRedirect, generateResponse, testKeys, toPostBinding, type Attributes } from './responses.ts';
import { latency, pool, type Latency } from './stats.ts';

export const PHASES = ['authorize', 'acs', 'token', 'userinfo'] as const;
export type Phase = (typeof PHASES)[number];

/** One login's state as it moves through the phases. */
export interface PreparedLogin {
  verifier: string;
  challenge: string;
  state: string;
  nonce: string;
  cookies?: string;
  idpRedirect?: string;
  relayState?: string;
  samlResponse?: string;
  code?: string;
  accessToken?: string;
}

/** A system under test: one call per phase, plus the untimed IdP signing step. */
export interface LoginStack {
  readonly name: string;
  /** Measures the CPU the stack itself uses during the timed phases. */
  readonly cpu?: CpuMeter;
  prepare(count: number): PreparedLogin[];
  authorize(login: PreparedLogin): Promise<void>;
  sign(login: PreparedLogin): void;
  acs(login: PreparedLogin): Promise<void>;
  token(login: PreparedLogin): Promise<void>;
  userinfo(login: PreparedLogin): Promise<void>;
}

/** Thrown when the server does not offer what the login needs yet (routes still being written). */
export class NotMeasurable extends Error {}

export interface BatchResult {
  readonly logins: number;
  readonly concurrency: number;
  /** logins / (sum of the four phases' wall time); signing is excluded. */
  readonly loginsPerSec: number;
  readonly phaseMs: Record<Phase, number>;
  /** Per-request latency of each phase. */
  readonly phaseSamples: Record<Phase, number[]>;
  /** Per login, the sum of its four requests' latencies (meaningful at concurrency 1). */
  readonly loginSamples: number[];
  /** CPU milliseconds per login spent by the stack during the timed phases, per component. */
  readonly cpuMsPerLogin: Record<string, number>;
  /** The same for each phase on its own (e.g. the CPU of one ACS post). */
  readonly phaseCpuMsPerLogin: Record<Phase, Record<string, number>>;
  /** When each phase ran, in microseconds of the monotonic clock (`process.hrtime`), which V8's CPU profiles also use. */
  readonly phaseWindowsUs: Record<Phase, readonly [number, number]>;
}

export async function runLoginBatch(stack: LoginStack, count: number, concurrency: number): Promise<BatchResult> {
  const logins = stack.prepare(count);
  const phaseMs = {} as Record<Phase, number>;
  const phaseSamples = {} as Record<Phase, number[]>;
  const cpuMs: Record<string, number> = {};
  const phaseCpuMsPerLogin = {} as Record<Phase, Record<string, number>>;
  const phaseWindowsUs = {} as Record<Phase, readonly [number, number]>;
  const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);
  for (const phase of PHASES) {
    if (phase === 'acs') for (const login of logins) stack.sign(login);
    const samples = new Array<number>(count);
    const cpuSince = stack.cpu?.();
    const start = performance.now();
    const startUs = monotonicUs();
    await pool(logins, concurrency, async (login, i) => {
      const t0 = performance.now();
      await stack[phase](login);
      samples[i] = performance.now() - t0;
    });
    phaseMs[phase] = performance.now() - start;
    phaseWindowsUs[phase] = [startUs, monotonicUs()];
    const used = Object.entries(cpuSince?.() ?? {});
    for (const [component, ms] of used) cpuMs[component] = (cpuMs[component] ?? 0) + ms;
    phaseCpuMsPerLogin[phase] = Object.fromEntries(used.map(([component, ms]) => [component, ms / count]));
    phaseSamples[phase] = samples;
  }
  const total = PHASES.reduce((sum, p) => sum + phaseMs[p], 0);
  const loginSamples = logins.map((_, i) => PHASES.reduce((sum, p) => sum + phaseSamples[p][i]!, 0));
  const cpuMsPerLogin = Object.fromEntries(Object.entries(cpuMs).map(([component, ms]) => [component, ms / count]));
  return {
    logins: count,
    concurrency,
    loginsPerSec: (count / total) * 1000,
    phaseMs,
    phaseSamples,
    loginSamples,
    cpuMsPerLogin,
    phaseCpuMsPerLogin,
    phaseWindowsUs,
  };
}

export function phaseLatencies(batches: readonly BatchResult[]): Record<Phase, Latency> & { login: Latency } {
  const out = {} as Record<Phase, Latency> & { login: Latency };
  for (const phase of PHASES) out[phase] = latency(batches.flatMap((b) => b.phaseSamples[phase]));
  out.login = latency(batches.flatMap((b) => b.loginSamples));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Lanyard over HTTP, configured through its management API (../shared/API.md).

export const IDP_ENTITY_ID = 'https://idp.bench.test/lanyard/metadata';
const REDIRECT_URI = 'http://127.0.0.1:5226/callback';
const SSO_URL = 'http://127.0.0.1:5227/idp/sso';
const EMAIL = 'alice@example.com';

interface Connection {
  id: string;
  organizationId: string;
  sp: { entityId: string; acsUrl: string };
}

/** What the Lanyard login needs from setup, also used by the growth and management parts. */
export interface LanyardSetup {
  readonly organizationId: string;
  readonly connection: Connection;
  readonly clientId: string;
  readonly clientSecret: string;
}

function explain(what: string, res: { status: number; body: unknown }): Error {
  const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
  if (res.status === 404 && /route_not_found|Route .* not found/i.test(text))
    return new NotMeasurable(`${what} does not exist yet (404 route_not_found)`);
  return new Error(`${what} answered ${res.status}: ${text.slice(0, 400)}`);
}

/** Creates the organization, application and SAML connection through the API. */
export async function setUpLanyard(client: HttpClient, apiToken: string): Promise<LanyardSetup> {
  const auth = { authorization: `Bearer ${apiToken}` };
  const org = await client.json<{ id: string }>('POST', '/v1/organizations', { name: 'Bench Corp', domains: ['bench.test'] }, auth);
  if (org.status !== 201) throw explain('POST /v1/organizations', org);
  const app = await client.json<{ clientId: string; clientSecret: string }>(
    'POST',
    '/v1/applications',
    { name: 'Bench App', redirectUris: [REDIRECT_URI] },
    auth,
  );
  if (app.status !== 201) throw explain('POST /v1/applications', app);
  const connection = await client.json<Connection>('POST', '/v1/connections', samlConnectionBody(org.body.id, 'Bench IdP'), auth);
  if (connection.status !== 201) throw explain('POST /v1/connections', connection);
  return { organizationId: org.body.id, connection: connection.body, clientId: app.body.clientId, clientSecret: app.body.clientSecret };
}

/** A SAML connection create body as an admin would send it (also the management benchmark's body). */
export function samlConnectionBody(organizationId: string, name: string, idpEntityId = IDP_ENTITY_ID): Record<string, unknown> {
  return { organizationId, type: 'saml', name, enabled: true, saml: { idpEntityId, ssoUrl: SSO_URL, certificates: [testKeys.idpCertPem] } };
}

/**
 * Lanyard's login over HTTP, as a browser (authorize, ACS) and the app's backend (token, userinfo)
 * drive it; the IdP signs responses with `attributes` (the bench's eight unless told).
 */
export function lanyardStack(
  client: HttpClient,
  setup: LanyardSetup,
  cpu?: CpuMeter,
  name = 'lanyard (HTTP, PostgreSQL)',
  attributes: Attributes = 'bench',
): LoginStack {
  const { connection, clientId, clientSecret } = setup;
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
  const acsPath = new URL(connection.sp.acsUrl).pathname;
  return {
    name,
    ...(cpu ? { cpu } : {}),
    prepare(count) {
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
      const query = new URLSearchParams({
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT_URI,
        state: login.state,
        scope: 'openid email profile',
        nonce: login.nonce,
        code_challenge: login.challenge,
        code_challenge_method: 'S256',
        connection: connection.id,
      });
      const res = await client.request('GET', `/oauth/authorize?${query}`);
      const location = res.headers.location;
      if (res.status === 404) throw explain('GET /oauth/authorize', res);
      if ((res.status !== 302 && res.status !== 303) || location === undefined || !location.startsWith(SSO_URL)) {
        throw new Error(`GET /oauth/authorize answered ${res.status} ${location ?? ''} ${res.body.slice(0, 300)}`);
      }
      login.idpRedirect = location;
      login.cookies = cookiesFrom(res.headers);
    },
    sign(login) {
      const { id, relayState } = authnRequestIdFromRedirect(login.idpRedirect!);
      login.relayState = relayState ?? '';
      const unique = randomBytes(8).toString('hex');
      login.samlResponse = toPostBinding(
        generateResponse({
          signed: 'assertion',
          idpEntityId: IDP_ENTITY_ID,
          spEntityId: connection.sp.entityId,
          acsUrl: connection.sp.acsUrl,
          inResponseTo: id,
          responseId: `_r${unique}`,
          assertionId: `_a${unique}`,
          issuedAt: new Date(),
          lifetimeSeconds: 600,
          attributes,
        }),
      );
    },
    async acs(login) {
      const res = await client.request('POST', acsPath, {
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(login.cookies ? { cookie: login.cookies } : {}) },
        body: form({ SAMLResponse: login.samlResponse!, RelayState: login.relayState! }),
      });
      if (res.status === 404) throw explain(`POST ${acsPath}`, res);
      const location = res.headers.location;
      if ((res.status !== 302 && res.status !== 303) || location === undefined)
        throw new Error(`POST ${acsPath} answered ${res.status}: ${res.body.slice(0, 400)}`);
      const back = new URL(location);
      const code = back.searchParams.get('code');
      if (code === null || back.searchParams.get('state') !== login.state)
        throw new Error(`POST ${acsPath}: no code or wrong state in ${location.slice(0, 300)}`);
      login.code = code;
    },
    async token(login) {
      const res = await client.request('POST', '/oauth/token', {
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
        body: form({ grant_type: 'authorization_code', code: login.code!, redirect_uri: REDIRECT_URI, code_verifier: login.verifier }),
      });
      if (res.status === 404) throw explain('POST /oauth/token', res);
      const body = res.status === 200 ? (JSON.parse(res.body) as { access_token?: string; id_token?: string }) : {};
      if (!body.access_token || !body.id_token) throw new Error(`POST /oauth/token answered ${res.status}: ${res.body.slice(0, 300)}`);
      login.accessToken = body.access_token;
    },
    async userinfo(login) {
      const res = await client.request('GET', '/oauth/userinfo', { headers: { authorization: `Bearer ${login.accessToken!}` } });
      if (res.status === 404) throw explain('GET /oauth/userinfo', res);
      const body = res.status === 200 ? (JSON.parse(res.body) as { email?: string }) : {};
      if (body.email !== EMAIL) throw new Error(`GET /oauth/userinfo answered ${res.status}: ${res.body.slice(0, 300)}`);
    },
  };
}
