import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { addressPolicy, classifyAddress, type AddressPolicyOptions } from './address-policy.ts';
import { checkedLookup, type Lookup } from './guarded-fetch.ts';

/** What a back-channel request may carry (the subset openid-client and jose send). */
interface GuardedRequestInit {
  method?: string | undefined;
  headers?: ConstructorParameters<typeof Headers>[0] | undefined;
  body?: string | URLSearchParams | Uint8Array | ArrayBuffer | ReadableStream | null | undefined;
  signal?: AbortSignal | null | undefined;
}

/** A Fetch API-shaped function that only reaches addresses the policy allows. */
export type GuardedFetch = (url: string, init?: GuardedRequestInit) => Promise<Response>;

/** Why a guarded request did not get an answer; `message` names no internal address. */
export class GuardedRequestError extends Error {
  override name = 'GuardedRequestError';
  constructor(
    readonly code: 'bad_scheme' | 'forbidden_address' | 'timeout' | 'too_large' | 'unreachable',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A `fetch` for server-to-server calls to URLs a customer supplied (an OIDC provider's token,
 * JWKS and userinfo endpoints, which came from its discovery document): the same SSRF rules as
 * metadata fetching (../net/guarded-fetch.ts), each address checked inside the socket's lookup so
 * DNS rebinding cannot slip through, a time limit, a size limit, and no redirects followed (the
 * caller sees the 3xx; OAuth back-channel endpoints never redirect).
 */
export function createGuardedFetch(
  options: AddressPolicyOptions & {
    timeoutMs?: number;
    maxBytes?: number;
    /**
     * Beyond `maxBytes`, keep the first `maxBytes` and answer with them instead of failing with
     * `too_large` (webhook receipts: only the status matters, and the start of the body is kept).
     */
    truncate?: boolean;
  },
  deps: { lookup: Lookup },
): GuardedFetch {
  const permitted = addressPolicy(options);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const limit = { maxBytes, truncate: options.truncate === true };
  return (url, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const target = new URL(url);
      if (target.protocol !== 'http:' && target.protocol !== 'https:') {
        reject(new GuardedRequestError('bad_scheme', `Only http and https endpoints are called, not ${target.protocol.slice(0, -1)}.`));
        return;
      }
      const host = target.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host) !== 0 && !permitted(host)) {
        reject(forbidden(host, target));
        return;
      }
      const checked = checkedLookup(deps.lookup, permitted);
      const lookup = checked.lookup;
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
      const body = bodyBytes(init.body);
      if (body === 'stream') {
        reject(new TypeError('guarded requests do not stream request bodies'));
        return;
      }
      const headers: Record<string, string> = {
        'accept-encoding': 'identity',
        'user-agent': 'Lanyard',
        ...Object.fromEntries(new Headers(init.headers)),
      };
      if (body !== undefined) headers['content-length'] = String(body.length);
      // agent: false gives every request a fresh socket, so each one goes through the checked lookup.
      const common = { method: init.method ?? 'GET', headers, lookup, signal, agent: false } as const;
      const onResponse = (response: IncomingMessage): void => readAll(response, limit, target, resolve, reject);
      const request = target.protocol === 'https:' ? httpsRequest(target, common, onResponse) : httpRequest(target, common, onResponse);
      request.on('error', (error) => {
        const refused = checked.refused();
        if (refused !== undefined) reject(forbidden(refused, target));
        else if (timeout.aborted)
          reject(new GuardedRequestError('timeout', `${target.origin} did not answer within ${timeoutMs} ms.`, { cause: error }));
        else
          reject(
            new GuardedRequestError(
              'unreachable',
              `${target.origin} could not be reached (${(error as NodeJS.ErrnoException).code ?? error.message}).`,
              { cause: error },
            ),
          );
      });
      request.end(body);
    });
}

function bodyBytes(body: GuardedRequestInit['body']): Buffer | undefined | 'stream' {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof URLSearchParams) return Buffer.from(body.toString(), 'utf8');
  if (body instanceof ReadableStream) return 'stream';
  return Buffer.from(body instanceof ArrayBuffer ? new Uint8Array(body) : body);
}

function readAll(
  response: IncomingMessage,
  limit: { maxBytes: number; truncate: boolean },
  target: URL,
  resolve: (r: Response) => void,
  reject: (e: Error) => void,
): void {
  const { maxBytes } = limit;
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  response.on('data', (chunk: Buffer) => {
    if (truncated) return;
    size += chunk.length;
    if (size <= maxBytes) chunks.push(chunk);
    else if (limit.truncate) {
      chunks.push(chunk.subarray(0, chunk.length - (size - maxBytes)));
      truncated = true;
      // Nothing more is read; the answer is complete as far as the caller is concerned.
      finish();
      response.destroy();
    } else {
      response.destroy();
      reject(new GuardedRequestError('too_large', `${target.origin} answered with more than ${maxBytes} bytes.`));
    }
  });
  response.on('error', (error) =>
    reject(new GuardedRequestError('unreachable', `The connection to ${target.origin} broke.`, { cause: error })),
  );
  response.on('end', () => finish());
  function finish(): void {
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, one);
    }
    const status = response.statusCode ?? 502;
    // Fetch forbids a body on these statuses.
    const content = status === 204 || status === 205 || status === 304 ? null : Buffer.concat(chunks);
    resolve(new Response(content, { status, statusText: response.statusMessage ?? '', headers }));
  }
}

function forbidden(address: string, target: URL): GuardedRequestError {
  const category = classifyAddress(address) ?? 'internal';
  // The address itself stays out of the message: echoing it would map the internal network.
  const what = isIP(target.hostname.replace(/^\[|\]$/g, '')) !== 0 ? 'The endpoint is' : `${target.hostname} resolves to`;
  return new GuardedRequestError('forbidden_address', `${what} a ${category} address, which Lanyard does not call.`);
}
