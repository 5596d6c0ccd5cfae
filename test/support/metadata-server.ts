// A loopback IdP metadata URL whose document the test changes, to rotate an IdP's signing key
// behind it: it serves the metadata with an ETag, answers a matching If-None-Match with 304, and
// can be made to fail (a status, or a body that is not metadata).
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { certificateBase64, readCertificates } from '../../src/crypto/certificates.ts';

/** IdP metadata (SAML metadata §2.4.3) for `entityId`, one signing KeyDescriptor per certificate. */
export function idpMetadataXml(entityId: string, ssoUrl: string, certificatePems: readonly string[]): string {
  const keys = certificatePems.map((pem) => {
    const read = readCertificates(pem);
    if (!read.ok || read.value[0] === undefined) throw new Error('not a certificate');
    return (
      '<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>' +
      `${certificateBase64(read.value[0])}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`
    );
  });
  return (
    '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"' +
    ` entityID="${entityId}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
    keys.join('') +
    '<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"' +
    ` Location="${ssoUrl}"/></md:IDPSSODescriptor></md:EntityDescriptor>`
  );
}

export interface MetadataServer {
  /** The metadata URL. */
  readonly url: string;
  /** What it serves from now on: a document (200 with an ETag), or a failing status. */
  serve(answer: { xml: string; cacheControl?: string } | { status: number }): void;
  /** The request headers of every GET so far. */
  readonly requests: IncomingHttpHeaders[];
  close(): Promise<void>;
}

export async function startMetadataServer(): Promise<MetadataServer> {
  let answer: { xml: string; cacheControl?: string } | { status: number } = { status: 404 };
  const requests: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    requests.push(req.headers);
    if ('status' in answer) {
      res.writeHead(answer.status, { 'content-type': 'text/plain' }).end('unavailable');
      return;
    }
    const etag = `"${createHash('sha256').update(answer.xml).digest('hex').slice(0, 16)}"`;
    const caching = { etag, ...(answer.cacheControl ? { 'cache-control': answer.cacheControl } : {}) };
    if (req.headers['if-none-match'] === etag) res.writeHead(304, caching).end();
    else res.writeHead(200, { 'content-type': 'application/samlmetadata+xml', ...caching }).end(answer.xml);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/metadata`,
    serve: (next) => void (answer = next),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
