import { sign, type KeyObject } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { NS, escapeXml } from './xml.ts';

/** What an SP-initiated AuthnRequest says (SAML core §3.4.1). */
export interface AuthnRequestInput {
  /** The request ID; when absent one is drawn from `deps.randomBytes`. Must be an xs:ID (an NCName). */
  id?: string;
  /** IssueInstant. */
  now: Date;
  /** The IdP's SingleSignOnService URL the request is sent to (Destination, core §3.2.1). */
  destination: string;
  /** Where the IdP must POST the response (AssertionConsumerServiceURL). */
  acsUrl: string;
  /** The SP entity ID (saml:Issuer). */
  issuer: string;
  /** NameIDPolicy/@Format; omitted when absent, leaving the choice to the IdP. */
  nameIdFormat?: string;
  /** NameIDPolicy/@AllowCreate; defaults to true so first logins of new users are not refused. */
  allowCreate?: boolean;
  /** ForceAuthn: ask the IdP to authenticate again even with a session. */
  forceAuthn?: boolean;
}

/** A built AuthnRequest: its ID (to store with the pending login, for InResponseTo) and XML. */
export interface AuthnRequest {
  id: string;
  xml: string;
}

export interface AuthnRequestDeps {
  randomBytes: (size: number) => Uint8Array;
}

/** The only signature algorithm Lanyard uses for the Redirect binding (XML-DSig-more §2.3.2). */
export const SIG_ALG_RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const BINDING_POST = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
const NCNAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * Builds an AuthnRequest. The ID carries 160 random bits (SAML core §1.3.4 asks for at least 128)
 * behind an underscore, since an xs:ID may not start with a digit.
 *
 * @throws RangeError when a given `id` is not an NCName.
 */
export function createAuthnRequest(input: AuthnRequestInput, deps: AuthnRequestDeps): AuthnRequest {
  const id = input.id ?? `_${Buffer.from(deps.randomBytes(20)).toString('hex')}`;
  if (!NCNAME.test(id)) throw new RangeError('An AuthnRequest ID must be an NCName (SAML core §1.3.4).');
  // Core §1.3.3: UTC with a "Z"; whole seconds, since some IdPs reject fractional seconds.
  const issueInstant = input.now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const policy =
    input.nameIdFormat === undefined
      ? `<samlp:NameIDPolicy AllowCreate="${input.allowCreate ?? true}"/>`
      : `<samlp:NameIDPolicy Format="${escapeXml(input.nameIdFormat)}" AllowCreate="${input.allowCreate ?? true}"/>`;
  const xml =
    `<samlp:AuthnRequest xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}" ID="${id}" Version="2.0"` +
    ` IssueInstant="${issueInstant}" Destination="${escapeXml(input.destination)}"` +
    ` AssertionConsumerServiceURL="${escapeXml(input.acsUrl)}" ProtocolBinding="${BINDING_POST}"` +
    (input.forceAuthn ? ' ForceAuthn="true"' : '') +
    `><saml:Issuer>${escapeXml(input.issuer)}</saml:Issuer>${policy}</samlp:AuthnRequest>`;
  return { id, xml };
}

/** How to send a request (or a LogoutResponse) with the HTTP-Redirect binding. */
export interface RedirectBindingInput {
  /** The IdP endpoint: its SingleSignOnService or SingleLogoutService URL; its own query parameters are kept. */
  ssoUrl: string;
  /** The message XML, unsigned (the Redirect binding carries the signature in the URL). */
  xml: string;
  /** The query parameter that carries the message: `SAMLRequest` (default) or, for a LogoutResponse, `SAMLResponse` (bindings §3.4.4.1). */
  parameter?: 'SAMLRequest' | 'SAMLResponse';
  /** Opaque state returned by the IdP; at most 80 bytes (SAML bindings §3.4.3). */
  relayState?: string;
  /** When given, the query is signed with rsa-sha256 under this RSA private key. */
  signingKey?: KeyObject;
}

/** The Redirect-binding URL and its SAML parameters (already URL-decoded). */
export interface RedirectBinding {
  url: string;
  /** The base64 DEFLATEd message, whichever parameter (SAMLRequest or SAMLResponse) carries it. */
  samlRequest: string;
  relayState?: string;
  sigAlg?: string;
  signature?: string;
}

const SAML_PARAMETERS = new Set(['SAMLRequest', 'SAMLResponse', 'RelayState', 'SigAlg', 'Signature']);

/**
 * Encodes a message for the HTTP-Redirect binding (SAML bindings §3.4.4.1): raw DEFLATE (RFC 1951,
 * no zlib header), base64, URL-encoding; RelayState beside it; when signing, SigAlg and a
 * Signature over the exact octets `SAMLRequest=…&RelayState=…&SigAlg=…` (or `SAMLResponse=…`)
 * as they appear in the URL.
 *
 * @throws RangeError when RelayState is over 80 bytes, the SSO URL is not http(s) or already holds
 * SAML parameters, or the signing key is not an RSA private key.
 */
export function encodeRedirectBinding(input: RedirectBindingInput): RedirectBinding {
  const target = new URL(input.ssoUrl);
  if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new RangeError('The SSO URL must be an http(s) URL.');
  for (const name of target.searchParams.keys()) {
    if (SAML_PARAMETERS.has(name)) throw new RangeError(`The SSO URL already has a ${name} parameter.`);
  }
  if (input.relayState !== undefined && Buffer.byteLength(input.relayState, 'utf8') > 80) {
    throw new RangeError('RelayState must not exceed 80 bytes (SAML bindings §3.4.3).');
  }
  const samlRequest = deflateRawSync(Buffer.from(input.xml, 'utf8')).toString('base64');
  const parameters = [`${input.parameter ?? 'SAMLRequest'}=${encodeURIComponent(samlRequest)}`];
  if (input.relayState !== undefined) parameters.push(`RelayState=${encodeURIComponent(input.relayState)}`);
  const result: RedirectBinding = { url: '', samlRequest, ...(input.relayState === undefined ? {} : { relayState: input.relayState }) };

  if (input.signingKey !== undefined) {
    const key = input.signingKey;
    if (key.type !== 'private' || key.asymmetricKeyType !== 'rsa') throw new RangeError('The signing key must be an RSA private key.');
    parameters.push(`SigAlg=${encodeURIComponent(SIG_ALG_RSA_SHA256)}`);
    // §3.4.4.1: the signed octets are the parameters in this order, exactly as encoded in the URL.
    const signature = sign('sha256', Buffer.from(parameters.join('&'), 'utf8'), key).toString('base64');
    parameters.push(`Signature=${encodeURIComponent(signature)}`);
    result.sigAlg = SIG_ALG_RSA_SHA256;
    result.signature = signature;
  }
  // The IdP's own parameters (Google's ?idpid=…) stay verbatim, ahead of ours; a fragment is never sent.
  const existing = target.search.length > 1 ? `${target.search.slice(1)}&` : '';
  target.hash = '';
  target.search = '';
  result.url = `${target.href}?${existing}${parameters.join('&')}`;
  return result;
}
