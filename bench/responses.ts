/**
 * Benchmark SAML Responses: the project's test builder (test/support/saml-builder.ts) with its
 * test-only keys, grown to a realistic size (eight attributes, 7–8 KB once signed) and moved to
 * the real clock, since the peers compare validity windows with `Date.now()` and cannot be given
 * a clock.
 */
import { inflateRawSync } from 'node:zlib';
import { buildAssertionXml, buildResponseXml, NOW, sign, testKeys } from '../test/support/saml-builder.ts';

export { testKeys };

/** Which element the IdP signs. */
export type Signed = 'assertion' | 'response';

/**
 * The attribute statement: `bench`, the eight realistic attributes below (7.5 KB signed); `builder`,
 * the test builder's own two (mail and a two-value groups, about 4 KB signed), a small response.
 */
export type Attributes = 'bench' | 'builder';

/** The parties of one generated response. */
export interface ResponseParties {
  readonly idpEntityId: string;
  readonly spEntityId: string;
  readonly acsUrl: string;
  /** The AuthnRequest ID this response answers. */
  readonly inResponseTo: string;
}

export interface GenerateOptions extends ResponseParties {
  readonly signed: Signed;
  /** Unique per response so Lanyard's replay cache (and Jackson's) accept each one once. */
  readonly responseId: string;
  readonly assertionId: string;
  /** The instant the response is issued at (real time, not the builder's fixed test clock). */
  readonly issuedAt: Date;
  /** How long the assertion stays valid; the benchmark keeps a response around for minutes. */
  readonly lifetimeSeconds?: number;
  /** The attribute statement; `bench` when left out. */
  readonly attributes?: Attributes;
  /** Sign with another key pair (the attacker's), to show a stack refuses a certificate it does not pin. */
  readonly signer?: { readonly keyPem: string; readonly certPem: string };
}

const ISO_INSTANT = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;

/** Eight attributes as a directory-backed IdP sends them (Okta/Entra style names, a multi-valued group list). */
function attributeStatement(email: string): string {
  const value = (v: string) => `<saml:AttributeValue xsi:type="xs:string">${v}</saml:AttributeValue>`;
  const attribute = (name: string, friendly: string | null, values: string[]) =>
    `<saml:Attribute Name="${name}"${friendly === null ? '' : ` FriendlyName="${friendly}"`} NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri">${values.map(value).join('')}</saml:Attribute>`;
  return (
    '<saml:AttributeStatement>' +
    attribute('urn:oid:0.9.2342.19200300.100.1.3', 'mail', [email]) +
    attribute('urn:oid:2.5.4.42', 'givenName', ['Alice']) +
    attribute('urn:oid:2.5.4.4', 'sn', ['Liddell']) +
    attribute('urn:oid:2.16.840.1.113730.3.1.241', 'displayName', ['Alice Liddell']) +
    attribute('urn:oid:2.5.4.12', 'title', ['Principal Engineer, Identity Platform']) +
    attribute('urn:oid:2.5.4.11', 'ou', ['Engineering / Platform / Identity and Access Management']) +
    attribute('urn:oid:2.16.840.1.113730.3.1.3', 'employeeNumber', ['E-0042-7781']) +
    attribute('http://schemas.microsoft.com/ws/2008/06/identity/claims/groups', 'groups', [
      'staff',
      'engineering',
      'sso-admins',
      'github-org-members',
      'aws-prod-readonly',
      'aws-staging-poweruser',
      'vpn-users',
      'jira-users',
      'confluence-editors',
      'pagerduty-responders',
      'payroll-viewers',
      'all-hands-2026',
      'okta-dashboard-users',
      'slack-workspace-members',
      'figma-editors',
      'datadog-viewers',
      'k8s-prod-deployers',
      'security-champions',
      'incident-commanders',
      'release-managers',
      'oncall-platform',
      'office-berlin',
    ]) +
    '</saml:AttributeStatement>'
  );
}

/** Builds and signs one response with the IdP test key (RSA-2048, rsa-sha256, sha256 digest, exc-c14n). */
export function generateResponse(o: GenerateOptions): string {
  const lifetime = o.lifetimeSeconds ?? 3600;
  // The builder writes instants relative to its fixed test clock; these are relative too, then everything is shifted.
  const rel = (seconds: number) => new Date(NOW.getTime() + seconds * 1000).toISOString();
  const options = {
    responseId: o.responseId,
    assertionId: o.assertionId,
    responseIssuer: o.idpEntityId,
    assertionIssuer: o.idpEntityId,
    destination: o.acsUrl,
    recipient: o.acsUrl,
    audience: o.spEntityId,
    inResponseTo: o.inResponseTo,
    notBefore: rel(-60),
    notOnOrAfter: rel(lifetime),
    scdNotOnOrAfter: rel(lifetime),
  };
  const builderAssertion = buildAssertionXml(options);
  const assertion =
    o.attributes === 'builder'
      ? builderAssertion
      : builderAssertion.replace(/<saml:AttributeStatement>.*<\/saml:AttributeStatement>/, attributeStatement('alice@example.com'));
  const shift = o.issuedAt.getTime() - NOW.getTime();
  const unsigned = buildResponseXml(options, assertion).replace(ISO_INSTANT, (instant) =>
    new Date(Date.parse(instant) + shift).toISOString(),
  );
  return sign(unsigned, { target: o.signed, ...(o.signer ?? {}) });
}

/**
 * The same response with one signed value changed (the mail attribute of the assertion, covered
 * by either signature), as an attacker editing a captured response would.
 */
export function tamper(xml: string): string {
  const changed = xml.replace('>alice@example.com</saml:AttributeValue>', '>mallory@example.com</saml:AttributeValue>');
  if (changed === xml) throw new Error('tamper: the mail attribute was not found');
  return changed;
}

/** Base64 of the XML, as the HTTP-POST binding carries it (SAML bindings §3.5.4). */
export function toPostBinding(xml: string): string {
  return Buffer.from(xml, 'utf8').toString('base64');
}

/** The ID of the AuthnRequest in an HTTP-Redirect binding URL (SAMLRequest: base64 of raw DEFLATE, bindings §3.4.4.1). */
export function authnRequestIdFromRedirect(location: string): { id: string; relayState: string | null } {
  const url = new URL(location);
  const encoded = url.searchParams.get('SAMLRequest');
  if (encoded === null) throw new Error(`the redirect carries no SAMLRequest: ${location.slice(0, 200)}`);
  const xml = inflateRawSync(Buffer.from(encoded, 'base64')).toString('utf8');
  const id = /<(?:\w+:)?AuthnRequest\b[^>]*\sID="([^"]+)"/.exec(xml)?.[1];
  if (id === undefined) throw new Error('the SAMLRequest has no AuthnRequest ID');
  return { id, relayState: url.searchParams.get('RelayState') };
}
