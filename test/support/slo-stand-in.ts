// Lanyard's SLO endpoint, standing in as a loopback HTTP server for interop tests: it hands the raw
// query string it received to the logout verifiers and answers as the routes will (a signed
// LogoutResponse back to the IdP for a LogoutRequest; "logged out" for a LogoutResponse).
import { randomBytes, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Result } from '../../src/domain/result.ts';
import { encodeRedirectBinding } from '../../src/domain/saml/authn-request.ts';
import type { SamlError } from '../../src/domain/saml/errors.ts';
import { createLogoutResponse } from '../../src/domain/saml/logout-response.ts';
import {
  verifyLogoutRequest,
  verifyLogoutResponse,
  type VerifiedLogoutRequest,
  type VerifiedLogoutResponse,
} from '../../src/domain/saml/logout-verify.ts';
import type { TrustedCertificate } from '../../src/domain/saml/signature.ts';
import { testKeys } from './saml-builder.ts';

/** Clock skew the stand-in allows, in seconds (the IdP runs on this machine's clock). */
export const SLO_STAND_IN_SKEW = 5;

/** Lanyard's SLO endpoint, as a loopback server: what arrived, what the verifiers said, and how it answers. */
export interface SloStandIn {
  readonly base: string;
  readonly spEntityId: string;
  readonly sloUrl: string;
  readonly acsUrl: string;
  idp?: { entityId: string; sloUrl: string; trusted: TrustedCertificate };
  /** The key the LogoutResponse to an IdP-initiated logout is signed with. */
  answerKey: KeyObject;
  /** The ID of the LogoutRequest Lanyard sent, for the response's InResponseTo. */
  pendingRequestId: string | null;
  allowUnsigned: boolean;
  readonly requests: Result<VerifiedLogoutRequest, SamlError>[];
  readonly responses: Result<VerifiedLogoutResponse, SamlError>[];
  close(): Promise<void>;
}

/** Starts the stand-in on a free loopback port; set `idp` once the IdP is known. */
export async function startSloStandIn(): Promise<SloStandIn> {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    // The query exactly as it arrived on the wire: the signature covers these octets.
    const rawQuery = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
    if (!url.startsWith('/slo?') || stand.idp === undefined) return void res.writeHead(404).end('not found');
    const common = {
      received: { binding: 'redirect' as const, rawQuery },
      idpEntityId: stand.idp.entityId,
      trustedCerts: [stand.idp.trusted],
      sloUrl: stand.sloUrl,
      now: new Date(),
      clockSkewSeconds: SLO_STAND_IN_SKEW,
      allowUnsigned: stand.allowUnsigned,
    };
    if (/(^|&)SAMLResponse=/.test(rawQuery)) {
      stand.responses.push(verifyLogoutResponse({ ...common, expectedInResponseTo: stand.pendingRequestId }));
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end('logged out');
    }
    const verified = verifyLogoutRequest(common);
    stand.requests.push(verified);
    if (!verified.ok) return void res.writeHead(400, { 'content-type': 'text/plain' }).end(verified.error.code);
    const response = createLogoutResponse(
      { now: new Date(), destination: stand.idp.sloUrl, issuer: stand.spEntityId, inResponseTo: verified.value.id },
      { randomBytes },
    );
    const { url: location } = encodeRedirectBinding({
      ssoUrl: stand.idp.sloUrl,
      xml: response.xml,
      parameter: 'SAMLResponse',
      signingKey: stand.answerKey,
      ...(verified.value.relayState === null ? {} : { relayState: verified.value.relayState }),
    });
    res.writeHead(302, { location }).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const stand: SloStandIn = {
    base,
    spEntityId: `${base}/sso/saml/conn_slo`,
    sloUrl: `${base}/slo`,
    acsUrl: `${base}/acs`,
    answerKey: testKeys.spKey,
    pendingRequestId: null,
    allowUnsigned: false,
    requests: [],
    responses: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return stand;
}
