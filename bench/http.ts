/** A minimal HTTP/1.1 client over loopback keep-alive connections (less client overhead than fetch, no redirects followed). */
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface HttpClient {
  request(method: string, path: string, options?: { headers?: Record<string, string>; body?: string }): Promise<HttpResponse>;
  json<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: T }>;
  close(): void;
}

/** A client for `baseUrl`, which must be a loopback http URL: the benchmark sends traffic nowhere else. */
export function httpClient(baseUrl: string): HttpClient {
  const base = new URL(baseUrl);
  if (base.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(base.hostname))
    throw new Error(`refusing non-loopback target ${baseUrl}`);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const request: HttpClient['request'] = (method, path, options = {}) =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...options.headers };
      if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
      const req = httpRequest({ host: base.hostname, port: base.port, method, path, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
      req.end(options.body);
    });
  return {
    request,
    async json<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const res = await request(method, path, {
        headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      let parsed: unknown;
      try {
        parsed = res.body === '' ? undefined : JSON.parse(res.body);
      } catch {
        parsed = res.body;
      }
      return { status: res.status, body: parsed as T };
    },
    close: () => agent.destroy(),
  };
}

/** `name=value` pairs from Set-Cookie headers, to send back like a browser would (attributes dropped). */
export function cookiesFrom(headers: IncomingHttpHeaders, previous = ''): string {
  const jar = new Map(
    previous
      .split('; ')
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair] as const),
  );
  for (const line of headers['set-cookie'] ?? []) {
    const pair = line.split(';')[0]!.trim();
    const eq = pair.indexOf('=');
    if (eq > 0) jar.set(pair.slice(0, eq), pair);
  }
  return [...jar.values()].join('; ');
}

export const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();
