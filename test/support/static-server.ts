// A loopback HTTP server answering fixed documents by path, standing in for an IdP's metadata URL or
// an OpenID provider's discovery endpoint in tests that need one misbehaving in a precise way.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StaticResponse {
  status?: number;
  type?: string;
  body: string;
}

export interface StaticServer {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** Sets (or replaces) what `path` answers; unknown paths answer 404. */
  route(path: string, response: StaticResponse | ((base: string) => StaticResponse)): void;
  close(): Promise<void>;
}

/** Starts the server on a free loopback port. */
export async function startStaticServer(): Promise<StaticServer> {
  const routes = new Map<string, StaticResponse | ((base: string) => StaticResponse)>();
  let base = '';
  const server = createServer((req, res) => {
    const entry = routes.get((req.url ?? '/').split('?')[0]!);
    const response = typeof entry === 'function' ? entry(base) : entry;
    if (response === undefined) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    else res.writeHead(response.status ?? 200, { 'content-type': response.type ?? 'application/octet-stream' }).end(response.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    route: (path, response) => void routes.set(path, response),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A discovery document for `issuer` with its endpoints under it; `change` edits it. */
export function discoveryDocument(issuer: string, change: (doc: Record<string, unknown>) => void = () => {}): StaticResponse {
  const doc: Record<string, unknown> = {
    issuer,
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
    jwks_uri: `${issuer}/jwks`,
    userinfo_endpoint: `${issuer}/me`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
  };
  change(doc);
  return { type: 'application/json', body: JSON.stringify(doc) };
}

/** The endpoints a connection keeps from {@link discoveryDocument} for `issuer`, as the API and the login read name them. */
export function discoveredEndpoints(issuer: string) {
  return {
    authorizationEndpoint: `${issuer}/auth`,
    tokenEndpoint: `${issuer}/token`,
    jwksUri: `${issuer}/jwks`,
    userinfoEndpoint: `${issuer}/me`,
    endSessionEndpoint: null,
  };
}
