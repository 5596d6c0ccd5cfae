import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  METADATA_URL_ERROR_CATALOGUE,
  fetchMetadataUrl as fetchMetadataUrlUnderTest,
  type MetadataUrlErrorCode,
  type MetadataUrlOptions,
} from '../../src/domain/connections/saml-config.ts';
import { classifyAddress } from '../../src/net/address-policy.ts';
import type { Lookup, ResolvedAddress } from '../../src/net/guarded-fetch.ts';

type MetadataUrlDeps = { lookup: Lookup };
import { generateSelfSignedKeyPair } from '../../src/crypto/self-signed.ts';

const metadataXml = readFileSync(new URL('../fixtures/metadata/okta.xml', import.meta.url), 'utf8');
const MiB = 1024 * 1024;

/** Every refusal code the tests below observe, checked against the catalogue at the end. */
const seenCodes = new Set<string>();
const fetchMetadataUrl: typeof fetchMetadataUrlUnderTest = async (options, deps) => {
  const result = await fetchMetadataUrlUnderTest(options, deps);
  if (!result.ok) seenCodes.add(result.error.code);
  return result;
};

/** A resolver that knows only the names a test gives it; anything else is NXDOMAIN. */
function fakeLookup(table: Record<string, ResolvedAddress[] | (() => ResolvedAddress[])>): MetadataUrlDeps & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    lookup: async (hostname) => {
      calls.push(hostname);
      const entry = table[hostname];
      if (entry === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      return typeof entry === 'function' ? entry() : entry;
    },
  };
}
const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
const noDns = fakeLookup({});

describe('fetchMetadataUrl against a loopback server', () => {
  let server: Server;
  let base: string;
  let port: number;
  const seen: Array<{ path: string; host: string | undefined }> = [];

  before(async () => {
    server = createServer((req, res) => {
      const path = req.url ?? '/';
      seen.push({ path, host: req.headers.host });
      const redirect = (location: string, status = 302): void => {
        res.writeHead(status, { location }).end();
      };
      const chain = /^\/chain\/(\d+)$/.exec(path);
      if (path === '/metadata') res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(metadataXml);
      else if (path === '/slow')
        return; // never answers
      else if (path === '/slow-body') res.writeHead(200).write('<md:EntityDescriptor');
      else if (path === '/exactly-1mib') res.writeHead(200).end(Buffer.alloc(MiB, 0x20));
      else if (path === '/huge') {
        res.writeHead(200); // chunked, no Content-Length: the limit must hold while streaming
        for (let i = 0; i < 4; i++) res.write(Buffer.alloc(MiB / 2, 0x20));
        res.end();
      } else if (path === '/huge-declared') res.writeHead(200, { 'content-length': String(50 * MiB) }).write('<');
      else if (path === '/cut') {
        res.writeHead(200, { 'content-length': '1000' }).write('<md:EntityDescriptor');
        setTimeout(() => res.socket?.destroy(), 20);
      } else if (path === '/missing') res.writeHead(404).end('not found');
      else if (path === '/broken') res.writeHead(500).end();
      else if (chain) redirect(chain[1] === '0' ? '/metadata' : `/chain/${Number(chain[1]) - 1}`);
      else if (path === '/relative') redirect('metadata', 303);
      else if (path === '/no-location') res.writeHead(302).end();
      else if (path === '/to-metadata-server') redirect('http://169.254.169.254/latest/meta-data/iam/', 307);
      else if (path === '/to-ipv6-loopback') redirect(`http://[::1]:${port}/metadata`, 301);
      else if (path === '/to-internal-name') redirect(`http://intranet.test:${port}/metadata`);
      else if (path === '/to-same-name') redirect(`http://rebind.test:${port}/metadata`);
      else if (path === '/to-ftp') redirect('ftp://idp.example/metadata.xml');
      else if (path === '/to-file') redirect('file:///etc/passwd', 308);
      else res.writeHead(418).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const allowLoopback = { allowPrivateAddresses: true } satisfies Partial<MetadataUrlOptions>;

  async function refused(options: MetadataUrlOptions, code: MetadataUrlErrorCode, deps: MetadataUrlDeps = noDns): Promise<string> {
    const result = await fetchMetadataUrl(options, deps);
    assert.ok(!result.ok, 'the fetch succeeded');
    assert.equal(result.error.code, code, result.error.message);
    return result.error.message;
  }

  it('refuses loopback by default, without connecting', async () => {
    const before = seen.length;
    const message = await refused({ url: `${base}/metadata` }, 'metadata_url_forbidden_address');
    assert.match(message, /loopback/);
    assert.doesNotMatch(message, /127\.0\.0\.1/);
    assert.equal(seen.length, before);
  });

  it('fetches from loopback when allowPrivateAddresses is true', async () => {
    const result = await fetchMetadataUrl({ url: `${base}/metadata`, ...allowLoopback }, noDns);
    assert.ok(result.ok);
    assert.equal(result.value.xml, metadataXml);
    assert.equal(result.value.finalUrl, `${base}/metadata`);
  });

  it('resolves names through the injected lookup at connect time and checks the result', async () => {
    const dns = fakeLookup({ 'idp.test': [v4('127.0.0.1')], 'localhost.test': [{ address: '::1', family: 6 }, v4('127.0.0.1')] });
    const result = await fetchMetadataUrl({ url: `http://idp.test:${port}/metadata`, allowedAddresses: ['127.0.0.1'] }, dns);
    assert.ok(result.ok, result.ok ? '' : result.error.message);
    assert.equal(seen.at(-1)?.host, `idp.test:${port}`);
    assert.deepEqual(dns.calls, ['idp.test']);
    await refused({ url: `http://localhost.test:${port}/metadata` }, 'metadata_url_forbidden_address', dns);
  });

  it('refuses a name with any internal address among public ones', async () => {
    const dns = fakeLookup({ 'mixed.test': [v4('93.184.216.34'), v4('10.1.2.3')] });
    assert.match(await refused({ url: 'https://mixed.test/metadata' }, 'metadata_url_forbidden_address', dns), /private/);
  });

  it('times out on a server that never answers, and on a body that stalls', async () => {
    for (const path of ['/slow', '/slow-body']) {
      const started = Date.now();
      await refused({ url: `${base}${path}`, ...allowLoopback, timeoutMs: 150 }, 'metadata_url_timeout');
      assert.ok(Date.now() - started < 2000);
    }
  });

  it('stops reading beyond 1 MiB, streamed or declared', async () => {
    const ok = await fetchMetadataUrl({ url: `${base}/exactly-1mib`, ...allowLoopback }, noDns);
    assert.ok(ok.ok);
    assert.equal(ok.value.xml.length, MiB);
    await refused({ url: `${base}/huge`, ...allowLoopback }, 'metadata_url_too_large');
    const started = Date.now();
    await refused({ url: `${base}/huge-declared`, ...allowLoopback }, 'metadata_url_too_large');
    assert.ok(Date.now() - started < 1000);
    await refused({ url: `${base}/metadata`, ...allowLoopback, maxBytes: 100 }, 'metadata_url_too_large');
  });

  it('reports the HTTP status', async () => {
    for (const [path, status] of [
      ['/missing', 404],
      ['/broken', 500],
    ] as const) {
      const result = await fetchMetadataUrl({ url: `${base}${path}`, ...allowLoopback }, noDns);
      assert.ok(!result.ok);
      assert.equal(result.error.code, 'metadata_url_status');
      assert.equal(result.error.detail?.status, status);
      assert.match(result.error.message, new RegExp(String(status)));
    }
  });

  it('reports a connection cut before the body is complete', async () => {
    await refused({ url: `${base}/cut`, ...allowLoopback }, 'metadata_url_unreachable');
  });

  it('follows up to 3 redirects, relative ones included', async () => {
    const result = await fetchMetadataUrl({ url: `${base}/chain/2`, ...allowLoopback }, noDns);
    assert.ok(result.ok);
    assert.equal(result.value.finalUrl, `${base}/metadata`);
    const relative = await fetchMetadataUrl({ url: `${base}/relative`, ...allowLoopback }, noDns);
    assert.ok(relative.ok);
    assert.equal(relative.value.xml, metadataXml);
  });

  it('refuses a redirect chain that is too long', async () => {
    assert.match(await refused({ url: `${base}/chain/3`, ...allowLoopback }, 'metadata_url_too_many_redirects'), /more than 3/);
    await refused({ url: `${base}/chain/0`, ...allowLoopback, maxRedirects: 0 }, 'metadata_url_too_many_redirects');
  });

  it('checks every hop: a redirect to an internal address is refused', async () => {
    const dns = fakeLookup({ 'idp.test': [v4('127.0.0.1')], 'intranet.test': [v4('10.20.30.40')] });
    const options = { allowedAddresses: ['127.0.0.1'] };
    assert.match(
      await refused({ url: `http://idp.test:${port}/to-metadata-server`, ...options }, 'metadata_url_forbidden_address', dns),
      /link-local/,
    );
    await refused({ url: `http://idp.test:${port}/to-ipv6-loopback`, ...options }, 'metadata_url_forbidden_address', dns);
    await refused({ url: `http://idp.test:${port}/to-internal-name`, ...options }, 'metadata_url_forbidden_address', dns);
    assert.deepEqual(dns.calls, ['idp.test', 'idp.test', 'idp.test', 'intranet.test']);
  });

  it('resolves again on each hop, so a name that changes its answer is caught (DNS rebinding)', async () => {
    const answers = [[v4('127.0.0.1')], [v4('192.168.1.1')]];
    const dns = fakeLookup({ 'rebind.test': () => answers.shift() ?? [] });
    await refused(
      { url: `http://rebind.test:${port}/to-same-name`, allowedAddresses: ['127.0.0.1'] },
      'metadata_url_forbidden_address',
      dns,
    );
    assert.deepEqual(dns.calls, ['rebind.test', 'rebind.test']);
  });

  it('refuses redirects to other schemes and redirects without a location', async () => {
    await refused({ url: `${base}/to-ftp`, ...allowLoopback }, 'metadata_url_bad_scheme');
    await refused({ url: `${base}/to-file`, ...allowLoopback }, 'metadata_url_bad_scheme');
    await refused({ url: `${base}/no-location`, ...allowLoopback }, 'metadata_url_bad_redirect');
  });

  it('reports an unreachable host with the cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    assert.match(await refused({ url: `http://127.0.0.1:${closedPort}/`, ...allowLoopback }, 'metadata_url_unreachable'), /ECONNREFUSED/);
    assert.match(await refused({ url: 'https://no-such-host.test/metadata' }, 'metadata_url_unreachable'), /ENOTFOUND/);
  });
});

describe('fetchMetadataUrl over https', () => {
  let server: ReturnType<typeof createHttpsServer>;
  let certificatePem: string;
  let port: number;
  const dns = fakeLookup({ 'idp.test': [v4('127.0.0.1')] });

  before(async () => {
    // A throwaway certificate for the name the fake resolver maps to loopback (Node matches the CN
    // when there is no subjectAltName).
    const pair = await generateSelfSignedKeyPair({ commonName: 'idp.test', validityYears: 1, now: new Date() }, { randomBytes });
    certificatePem = pair.certificatePem;
    server = createHttpsServer({ key: pair.privateKeyPem, cert: pair.certificatePem }, (req, res) => {
      if (req.url === '/metadata') res.writeHead(200).end(metadataXml);
      else res.writeHead(302, { location: `http://idp.test:${port}/metadata` }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('fetches over TLS with an extra trusted CA, and refuses an untrusted certificate', async () => {
    const url = `https://idp.test:${port}/metadata`;
    const trusted = await fetchMetadataUrl({ url, allowedAddresses: ['127.0.0.1'], trustedCaCertificates: [certificatePem] }, dns);
    assert.ok(trusted.ok, trusted.ok ? '' : trusted.error.message);
    assert.equal(trusted.value.xml, metadataXml);
    const untrusted = await fetchMetadataUrl({ url, allowedAddresses: ['127.0.0.1'] }, dns);
    assert.ok(!untrusted.ok);
    assert.equal(untrusted.error.code, 'metadata_url_unreachable');
    assert.match(untrusted.error.message, /SELF_SIGNED/);
  });

  it('refuses a redirect from https down to http', async () => {
    const result = await fetchMetadataUrl(
      { url: `https://idp.test:${port}/downgrade`, allowedAddresses: ['127.0.0.1'], trustedCaCertificates: [certificatePem] },
      dns,
    );
    assert.ok(!result.ok);
    assert.equal(result.error.code, 'metadata_url_insecure_redirect');
  });
});

describe('fetchMetadataUrl input checks', () => {
  it('accepts only http and https URLs', async () => {
    for (const url of ['ftp://idp.example/metadata.xml', 'file:///etc/passwd', 'gopher://idp.example/', 'data:text/xml,<x/>']) {
      const result = await fetchMetadataUrl({ url }, noDns);
      assert.ok(!result.ok);
      assert.equal(result.error.code, 'metadata_url_bad_scheme', url);
    }
    const result = await fetchMetadataUrl({ url: '/relative/path' }, noDns);
    assert.ok(!result.ok);
    assert.equal(result.error.code, 'metadata_url_invalid');
  });

  it('refuses internal IP literals without resolving or connecting', async () => {
    const dns = fakeLookup({});
    for (const host of ['10.0.0.1', '0.0.0.0', '[::]', '[::ffff:127.0.0.1]', '[fd00::1]', '[fe80::1]', '100.64.0.1', '0x7f.1']) {
      const result = await fetchMetadataUrl({ url: `http://${host}/metadata` }, dns);
      assert.ok(!result.ok);
      assert.equal(result.error.code, 'metadata_url_forbidden_address', host);
    }
    assert.deepEqual(dns.calls, []);
  });
});

describe('classifyAddress', () => {
  it('names each internal range and lets public addresses through', () => {
    const cases: Array<[string, string | undefined]> = [
      ['8.8.8.8', undefined],
      ['93.184.216.34', undefined],
      ['2606:4700::1111', undefined],
      ['2a00:1450:4001::200e', undefined],
      ['10.0.0.1', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['172.32.0.1', undefined],
      ['192.168.0.1', 'private'],
      ['127.0.0.1', 'loopback'],
      ['127.255.255.254', 'loopback'],
      ['::1', 'loopback'],
      ['169.254.169.254', 'link-local'],
      ['fe80::1%eth0', 'link-local'],
      ['febf::1', 'link-local'],
      ['fc00::1', 'unique-local'],
      ['fdff:ffff::1', 'unique-local'],
      ['100.64.0.1', 'shared (CGNAT)'],
      ['100.127.255.255', 'shared (CGNAT)'],
      ['100.128.0.1', undefined],
      ['224.0.0.1', 'multicast'],
      ['239.255.255.250', 'multicast'],
      ['ff02::1', 'multicast'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['255.255.255.255', 'reserved'],
      ['192.0.2.1', 'reserved'],
      ['2001:db8::1', 'reserved'],
      // IPv4 inside IPv6: judged by the IPv4 address it reaches.
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:7f00:1', 'loopback'],
      ['::ffff:10.0.0.1', 'private'],
      ['::ffff:8.8.8.8', undefined],
      ['64:ff9b::a9fe:a9fe', 'link-local'],
      ['64:ff9b::808:808', undefined],
      ['2002:c0a8:101::1', 'private'],
      ['::127.0.0.1', 'reserved'],
      ['not an address', 'reserved'],
    ];
    for (const [address, category] of cases) assert.equal(classifyAddress(address), category, address);
  });
});

describe('metadata URL error catalogue', () => {
  it('documents every code returned above, and each documented code was returned', () => {
    assert.deepEqual([...seenCodes].sort(), Object.keys(METADATA_URL_ERROR_CATALOGUE).sort());
  });
});
