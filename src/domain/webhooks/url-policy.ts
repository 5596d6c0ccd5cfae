import { isIP } from 'node:net';
import { addressPolicy, classifyAddress } from '../../net/address-policy.ts';
import type { Lookup } from '../../net/guarded-fetch.ts';
import { err, ok, type Result } from '../result.ts';

/** Why a webhook URL is refused; `message` is safe to show (it names no address). */
export interface WebhookUrlProblem {
  readonly code: 'invalid' | 'insecure' | 'credentials' | 'forbidden_address';
  readonly message: string;
}

/**
 * Checks a webhook URL as given (pure): absolute http(s) without credentials or fragment, https
 * unless private networks are allowed (Standard Webhooks 1.0.0, "Enforcing HTTPS"), and no IP
 * literal or `localhost` name the address policy refuses. The same policy is enforced again at
 * every connection, inside the socket's lookup, which is what actually stops DNS rebinding.
 */
export function checkWebhookUrl(text: string, options: { allowPrivateNetwork: boolean }): Result<URL, WebhookUrlProblem> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return err({ code: 'invalid', message: 'must be an absolute https URL' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return err({ code: 'invalid', message: 'must be an https URL' });
  if (url.protocol === 'http:' && !options.allowPrivateNetwork) {
    return err({ code: 'insecure', message: 'must use https (plain http is allowed only with LANYARD_ALLOW_PRIVATE_NETWORK)' });
  }
  if (url.username !== '' || url.password !== '') return err({ code: 'credentials', message: 'must not carry a user name or password' });
  if (url.hash !== '') return err({ code: 'invalid', message: 'must not have a fragment' });
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const permitted = addressPolicy({ allowPrivateAddresses: options.allowPrivateNetwork });
  const internalName = host === 'localhost' || host.endsWith('.localhost');
  if ((isIP(host) !== 0 && !permitted(host)) || (internalName && !options.allowPrivateNetwork)) {
    const category = isIP(host) !== 0 ? (classifyAddress(host) ?? 'internal') : 'loopback';
    return err({ code: 'forbidden_address', message: `leads to a ${category} address, which Lanyard does not call` });
  }
  return ok(url);
}

/**
 * Resolves the URL's host now, so that a name that already points inside the network is refused
 * when it is given rather than at its first delivery. A name that does not resolve (yet) passes.
 */
export async function checkWebhookHost(
  url: URL,
  options: { allowPrivateNetwork: boolean },
  deps: { lookup: Lookup },
): Promise<Result<URL, WebhookUrlProblem>> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 || options.allowPrivateNetwork) return ok(url);
  const permitted = addressPolicy({ allowPrivateAddresses: false });
  let addresses: { address: string }[];
  try {
    addresses = await deps.lookup(host);
  } catch {
    return ok(url);
  }
  const refused = addresses.find((a) => !permitted(a.address));
  if (refused === undefined) return ok(url);
  const category = classifyAddress(refused.address) ?? 'internal';
  return err({ code: 'forbidden_address', message: `${host} resolves to a ${category} address, which Lanyard does not call` });
}
