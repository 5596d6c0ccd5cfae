// Shared by the connection suites: the metadata fixtures, the connection service as the login code
// builds it, and a raw dump of the database for the secrets-at-rest check.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config.ts';
import { createSealer } from '../../src/crypto/seal.ts';
import { createConnectionService } from '../../src/domain/connections/connections.ts';
import { systemLookup } from '../../src/net/guarded-fetch.ts';
import type { TestApp } from './app.ts';

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
