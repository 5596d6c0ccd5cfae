import type { FastifyRequest } from 'fastify';

const REDACTED = '[redacted]';

/**
 * Query parameters whose value is a bearer secret or a credential: OAuth codes and tokens (RFC 6749
 * §4.1.2, §5.1; RFC 7009 `token`), OIDC `id_token_hint` and `logout_token` (Core §3.1.2.1, Back-Channel
 * Logout §2.4), client credentials (RFC 6749 §2.3.1, RFC 7523 `client_assertion`), the PKCE verifier
 * (RFC 7636 §4.5), and SAML messages (HTTP-Redirect binding, SAML bindings §3.4.4), compared
 * without case.
 *
 * `state` stays readable: it is not a secret (RFC 6749 §10.12: a CSRF binding to the browser that
 * started the login), it is worthless without the code and the PKCE verifier sealed on the flow, and
 * it is what ties a callback in the log to its login flow when a failed login must be explained.
 */
const SECRET_PARAMETERS: ReadonlySet<string> = new Set([
  'code',
  'access_token',
  'refresh_token',
  'id_token',
  'id_token_hint',
  'logout_token',
  'token',
  'client_secret',
  'client_assertion',
  'code_verifier',
  'assertion',
  'password',
  'samlrequest',
  'samlresponse',
  'samlart',
]);

/** Names no list can foresee (`device_code`, `subject_token`, `webhook_secret`, …) are caught by their ending. */
const SECRET_ENDING = /(?:^|[_-])(?:code|token|secret|password|assertion)$/;

/**
 * The request URL as the log may show it. A setup URL's path carries the ticket's bearer token
 * (`/setup/<token>/…`): logs keep the rest of the path and never the token; test result pages
 * (`/setup/tests/<flow id>`) carry no secret. In the query, the value of every secret parameter
 * (SECRET_PARAMETERS) is replaced, however its name is percent-encoded; the rest is kept as sent.
 */
export function redactUrl(url: string): string {
  const queryStart = url.indexOf('?');
  const path = (queryStart === -1 ? url : url.slice(0, queryStart)).replace(/^\/setup\/(?!tests\/)[^/?#]+/, `/setup/${REDACTED}`);
  if (queryStart === -1) return path;
  const query = url
    .slice(queryStart + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = equals === -1 ? pair : pair.slice(0, equals);
      return isSecretParameter(name) ? `${name}=${REDACTED}` : pair;
    })
    .join('&');
  return `${path}?${query}`;
}

function isSecretParameter(rawName: string): boolean {
  const name = decodeQueryComponent(rawName).toLowerCase();
  return SECRET_PARAMETERS.has(name) || SECRET_ENDING.test(name);
}

// application/x-www-form-urlencoded: `+` is a space; a malformed escape is compared as sent.
function decodeQueryComponent(value: string): string {
  const spaced = value.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** Fastify's `req` log serializer with the URL redacted; the same fields as Fastify's own. */
export function requestLogSerializer(
  // Pino may hand serializers a request that is not fully formed (no headers or socket yet).
  request: Pick<FastifyRequest, 'method' | 'url' | 'host' | 'ip'> & Partial<Pick<FastifyRequest, 'headers' | 'socket'>>,
): Record<string, unknown> {
  return {
    method: request.method,
    url: redactUrl(request.url),
    version: request.headers?.['accept-version'],
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
