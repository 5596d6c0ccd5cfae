import { AppError, type FieldProblem } from '../errors.ts';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Checks redirect URIs as RFC 6749 §3.1.2 and OAuth security BCP §4.1 want them: absolute, no
 * fragment, https (plain http only on loopback, for development), no credentials. They are then
 * compared by exact string match at /oauth/authorize.
 */
export function validateRedirectUris(uris: readonly string[], field = 'redirectUris'): void {
  const problems: FieldProblem[] = [];
  uris.forEach((uri, index) => {
    const problem = redirectUriProblem(uri);
    if (problem !== undefined) problems.push({ field: `${field}.${index}`, message: problem });
  });
  const [problem] = problems;
  if (problem !== undefined) throw new AppError('validation_failed', `${problem.field} ${problem.message}`, problems);
}

function redirectUriProblem(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.hash !== '' || uri.includes('#')) return 'must not have a fragment';
  if (url.username !== '' || url.password !== '') return 'must not carry credentials';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return undefined;
  return url.protocol === 'http:' ? 'must use https (http is allowed only for localhost and 127.0.0.1)' : 'must be an https URL';
}
