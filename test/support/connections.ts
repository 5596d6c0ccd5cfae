// Shared by the connection suites: their app and requests, the metadata fixtures, the connection service
// as the login code builds it, and a raw dump of the database for the secrets-at-rest check.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.ts';
import { createSealer } from '../../src/crypto/seal.ts';
import { createConnectionService } from '../../src/domain/connections/connections.ts';
import { systemLookup } from '../../src/net/guarded-fetch.ts';
import { createTestApp, type Backend, type TestApp } from './app.ts';
import { startStaticServer, type StaticServer } from './static-server.ts';

/** The LANYARD_PUBLIC_URL of the connection suites. */
export const PUBLIC_URL = 'http://127.0.0.1:8080';

/** A file of test/fixtures/metadata/. */
export function metadataFixture(name: string): string {
  return readFileSync(new URL(`../fixtures/metadata/${name}`, import.meta.url), 'utf8');
}

/** test/fixtures/metadata/certificates.json: each fixture certificate's PEM and OpenSSL's SHA-256 fingerprint. */
export const fixtureCertificates = JSON.parse(metadataFixture('certificates.json')) as Record<string, { pem: string; sha256: string }>;

/** The connection service over a test app's database and sealing key, as the login code gets it. */
export function directConnectionService(t: TestApp, env: Record<string, string> = {}) {
  const config = loadConfig({ LANYARD_PUBLIC_URL: PUBLIC_URL, ...env });
  return createConnectionService({
    db: t.db,
    clock: () => new Date(),
    random: randomBytes,
    sealer: createSealer(t.config.secretKey!, [], randomBytes),
    lookup: systemLookup,
    config,
  });
}

/** Every row of every table of the test's schema, as PostgreSQL's text form of the row. */
export async function dumpDatabase(t: TestApp): Promise<string> {
  const tables = await sql<{
    table_name: string;
  }>`select table_name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(t.db);
  assert.ok(tables.rows.length >= 7, 'the dump sees the tables');
  const parts: string[] = [];
  for (const { table_name } of tables.rows) {
    const rows = await sql<{ row: string }>`select t::text as row from ${sql.table(table_name)} t`.execute(t.db);
    parts.push(...rows.rows.map((r) => r.row));
  }
  return parts.join('\n');
}

/** What {@link connectionsTestBed} opens for a suite, there once its `before` hook has run. */
export interface ConnectionsTestBed {
  /** The app, allowed to fetch metadata from loopback, at {@link PUBLIC_URL}. */
  readonly t: TestApp;
  /** Organization Acme, with the domain acme.example. */
  readonly org: { readonly id: string };
  /** A loopback server for the IdP documents (metadata, OIDC discovery) a test serves. */
  readonly server: StaticServer;
  /** POST /v1/connections with `payload`, as the API key `token` when given. */
  readonly create: (payload: Record<string, unknown>, token?: string) => ReturnType<TestApp['request']>;
  /** A SAML connection's body for Acme: `extra` as its `saml`, `top` beside it. */
  readonly saml: (extra: Record<string, unknown>, top?: Record<string, unknown>) => Record<string, unknown>;
}

/** Opens the connection suites' app, organization and static server before the suite it is called in, and closes them after. */
export function connectionsTestBed(backend: Backend): ConnectionsTestBed {
  let opened: { t: TestApp; org: { id: string }; server: StaticServer } | undefined;
  const get = () => {
    assert.ok(opened, 'the connections test bed is open only in tests, after its before hook');
    return opened;
  };
  before(async () => {
    const t = await createTestApp({ backend, env: { LANYARD_ALLOW_PRIVATE_METADATA_URLS: 'true', LANYARD_PUBLIC_URL: PUBLIC_URL } });
    const org = (
      await t.request({ method: 'POST', url: '/v1/organizations', payload: { name: 'Acme', domains: ['acme.example'] } })
    ).json();
    opened = { t, org, server: await startStaticServer() };
  });
  after(async () => {
    await opened?.server.close();
    await opened?.t.close();
  });
  return {
    get t() {
      return get().t;
    },
    get org() {
      return get().org;
    },
    get server() {
      return get().server;
    },
    create: (payload, token) => get().t.request({ method: 'POST', url: '/v1/connections', payload, ...(token ? { token } : {}) }),
    saml: (extra, top = {}) => ({ organizationId: get().org.id, type: 'saml', ...top, saml: extra }),
  };
}
