/**
 * The peers Lanyard is compared with, loaded from bench/node_modules (installed by `npm run bench`,
 * never by the root `npm ci`). They are imported through a computed specifier with the few types
 * used here written out, so `tsc --noEmit` at the root (which includes bench/) passes on a clone
 * where bench/node_modules does not exist.
 */

/** `@node-saml/node-saml`'s CacheProvider: where it keeps the IDs of AuthnRequests in flight. */
export interface NodeSamlCacheProvider {
  saveAsync(key: string, value: string): Promise<{ value: string; createdAt: number } | null>;
  getAsync(key: string): Promise<string | null>;
  removeAsync(key: string | null): Promise<string | null>;
}

export interface NodeSamlOptions {
  idpCert: string;
  issuer: string;
  callbackUrl: string;
  audience: string;
  idpIssuer: string;
  wantAssertionsSigned: boolean;
  wantAuthnResponseSigned: boolean;
  acceptedClockSkewMs: number;
  validateInResponseTo: 'never' | 'ifPresent' | 'always';
  requestIdExpirationPeriodMs: number;
  cacheProvider: NodeSamlCacheProvider;
}

export interface NodeSamlProfile {
  issuer?: string;
  nameID?: string;
  inResponseTo?: string;
  attributes?: Record<string, unknown>;
}

export interface NodeSaml {
  validatePostResponseAsync(container: { SAMLResponse: string }): Promise<{ profile: NodeSamlProfile | null; loggedOut: boolean }>;
}

export interface NodeSamlModule {
  SAML: new (options: NodeSamlOptions) => NodeSaml;
}

export interface Saml20Profile {
  audience: string;
  claims: Record<string, unknown>;
  issuer: string;
  sessionIndex: string;
}

export interface Saml20Module {
  validate(
    rawAssertion: string,
    options: { publicKey: string; audience: string; strictAudienceValidation: boolean; inResponseTo: string },
  ): Promise<Saml20Profile>;
}

/** The subset of `@boxyhq/saml-jackson`'s controllers the full-login comparison drives. */
export interface JacksonControllers {
  connectionAPIController: {
    createSAMLConnection(body: Record<string, unknown>): Promise<{ clientID: string; clientSecret: string }>;
  };
  oauthController: {
    authorize(body: Record<string, unknown>): Promise<{ redirect_url?: string; authorize_form?: string; error?: string }>;
    samlResponse(body: { SAMLResponse: string; RelayState: string }): Promise<{ redirect_url?: string; error?: string }>;
    token(body: Record<string, unknown>): Promise<{ access_token: string; id_token?: string; token_type: string; expires_in: number }>;
    userInfo(token: string): Promise<Record<string, unknown>>;
  };
}

export interface JacksonModule {
  controllers(options: Record<string, unknown>): Promise<JacksonControllers>;
}

export interface AutocannonResult {
  requests: { average: number; mean: number; p50: number; p99: number; total: number };
  latency: { p50: number; p99: number; average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  duration: number;
}

export interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (request: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest;
}

export type Autocannon = (options: {
  url: string;
  connections: number;
  duration?: number;
  amount?: number;
  pipelining?: number;
  requests?: AutocannonRequest[];
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeout?: number;
}) => Promise<AutocannonResult>;

// A computed specifier: TypeScript neither resolves nor type-checks it; Node resolves it from bench/.
async function load(name: string): Promise<Record<string, unknown>> {
  return (await import(name)) as Record<string, unknown>;
}

/** CommonJS modules come back as a namespace whose `default` is `module.exports` (which may itself have a `default`). */
function commonJs<T>(namespace: Record<string, unknown>, has: string): T {
  const candidates = [
    namespace,
    namespace.default as Record<string, unknown> | undefined,
    (namespace.default as Record<string, unknown> | undefined)?.default as Record<string, unknown> | undefined,
  ];
  const found = candidates.find((c) => c !== undefined && c !== null && has in c);
  if (found === undefined) throw new Error(`the module has no export "${has}"`);
  return found as T;
}

export async function loadNodeSaml(): Promise<NodeSamlModule> {
  return commonJs<NodeSamlModule>(await load('@node-saml/node-saml'), 'SAML');
}

export async function loadSaml20(): Promise<Saml20Module> {
  return commonJs<Saml20Module>(await load('@boxyhq/saml20'), 'validate');
}

export async function loadJackson(): Promise<JacksonModule> {
  return commonJs<JacksonModule>(await load('@boxyhq/saml-jackson'), 'controllers');
}

export async function loadAutocannon(): Promise<Autocannon> {
  const namespace = await load('autocannon');
  return (typeof namespace.default === 'function' ? namespace.default : namespace) as Autocannon;
}

/** The installed version of a bench dependency, for the report. */
export async function peerVersion(name: string): Promise<string> {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
