import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';

/** A key that seals secrets at rest (AES-256-GCM); its id is stored beside each sealed value. */
export interface SecretKey {
  readonly id: string;
  readonly key: Buffer;
}

/** Everything the process reads from its environment, parsed once and frozen. */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly publicUrl: string;
  readonly databaseUrl: string | undefined;
  /** The login's statements as server-side prepared statements on PostgreSQL (off for PgBouncer before 1.21 in transaction mode). */
  readonly databasePreparedStatements: boolean;
  readonly dataDir: string;
  /** Current sealing key; undefined only on the embedded database, where main.ts generates one. */
  readonly secretKey: SecretKey | undefined;
  /** Older keys that still open what they sealed, until `lanyard secrets rotate` re-seals it. */
  readonly previousSecretKeys: readonly SecretKey[];
  readonly bootstrapApiKey: string | undefined;
  readonly redisUrl: string | undefined;
  readonly logLevel: LogLevel;
  readonly rateLimit: { readonly max: number; readonly windowSeconds: number };
  readonly allowPrivateMetadataUrls: boolean;
  /**
   * Outbound calls to URLs that callers supply (IdP metadata, OIDC endpoints, webhook endpoints)
   * may reach private and loopback addresses, and webhook URLs may be plain http.
   * LANYARD_ALLOW_PRIVATE_NETWORK, or its older name LANYARD_ALLOW_PRIVATE_METADATA_URLS.
   */
  readonly allowPrivateNetwork: boolean;
  readonly shutdownTimeoutMs: number;
  /** DNS servers for domain-verification TXT lookups ('ip' or 'ip:port', '[v6]:port'); undefined: the system's. */
  readonly dnsServers: readonly string[] | undefined;
  /** Server processes on this machine (LANYARD_WORKERS; `auto`: one per CPU). More than 1 needs PostgreSQL. */
  readonly workers: number;
  /** How often each connection's metadata URL is fetched again in the background (±10% jitter). */
  readonly metadataRefreshSeconds: number;
  /** A key rotation: how long a new key is published before it signs, and the old one kept after that. */
  readonly keyRolloverSeconds: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

/** A configuration value that cannot be used; `variable` names the environment variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads and validates the configuration. Throws a ConfigError naming the first bad variable;
 * main.ts prints it as one line and exits. No secret has a default.
 */
export function loadConfig(env: Env): Config {
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const port = integer(read, 'LANYARD_PORT', 8080, 0, 65535);
  const host = read('LANYARD_HOST') ?? '127.0.0.1';
  const publicUrl = parsePublicUrl(read('LANYARD_PUBLIC_URL') ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`);
  const databaseUrl = read('LANYARD_DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('LANYARD_DATABASE_URL', 'must be a postgres:// or postgresql:// URL (unset it to use the embedded database)');
  }
  const secret = read('LANYARD_SECRET_KEY');
  const secretKey = secret === undefined ? undefined : parseSecretKey('LANYARD_SECRET_KEY', secret);
  if (secretKey === undefined && databaseUrl !== undefined) {
    throw new ConfigError(
      'LANYARD_SECRET_KEY',
      'is required with LANYARD_DATABASE_URL (32 random bytes, base64 or hex: `openssl rand -base64 32`)',
    );
  }
  const previousSecretKeys = (read('LANYARD_PREVIOUS_SECRET_KEYS') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => parseSecretKey('LANYARD_PREVIOUS_SECRET_KEYS', s));
  const bootstrapApiKey = read('LANYARD_BOOTSTRAP_API_KEY');
  if (bootstrapApiKey !== undefined && !/^[\x21-\x7e]{32,256}$/.test(bootstrapApiKey)) {
    throw new ConfigError('LANYARD_BOOTSTRAP_API_KEY', 'must be 32 to 256 printable characters without spaces');
  }
  const redisUrl = read('LANYARD_REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) {
    throw new ConfigError('LANYARD_REDIS_URL', 'must be a redis:// or rediss:// URL');
  }
  const logLevel = (read('LANYARD_LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LANYARD_LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const workers = parseWorkers(read('LANYARD_WORKERS'));
  if (workers > 1 && databaseUrl === undefined) {
    throw new ConfigError(
      'LANYARD_WORKERS',
      `is ${workers}, but the embedded database allows one process: set LANYARD_DATABASE_URL (PostgreSQL) or use 1`,
    );
  }
  // The general switch; the older, metadata-only name keeps working and means the same.
  const generalSwitch = boolean(read, 'LANYARD_ALLOW_PRIVATE_NETWORK', false);
  const allowPrivateNetwork = boolean(read, 'LANYARD_ALLOW_PRIVATE_METADATA_URLS', false) || generalSwitch;
  return Object.freeze({
    port,
    host,
    publicUrl,
    databaseUrl,
    databasePreparedStatements: boolean(read, 'LANYARD_DATABASE_PREPARED_STATEMENTS', true),
    dataDir: read('LANYARD_DATA_DIR') ?? './data',
    secretKey,
    previousSecretKeys: Object.freeze(previousSecretKeys),
    bootstrapApiKey,
    redisUrl,
    logLevel,
    rateLimit: Object.freeze({
      max: integer(read, 'LANYARD_RATE_LIMIT_MAX', 1000, 1, 1_000_000_000),
      windowSeconds: integer(read, 'LANYARD_RATE_LIMIT_WINDOW_SECONDS', 60, 1, 86_400),
    }),
    allowPrivateMetadataUrls: allowPrivateNetwork,
    allowPrivateNetwork,
    shutdownTimeoutMs: integer(read, 'LANYARD_SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    dnsServers: parseDnsServers(read('LANYARD_DNS_SERVERS')),
    workers,
    metadataRefreshSeconds: integer(read, 'LANYARD_METADATA_REFRESH_SECONDS', 21_600, 60, 2_592_000),
    keyRolloverSeconds: integer(read, 'LANYARD_KEY_ROLLOVER_SECONDS', 172_800, 0, 31_536_000),
  });
}

function integer(read: (name: string) => string | undefined, name: string, fallback: number, min: number, max: number): number {
  const raw = read(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max)
    throw new ConfigError(name, `must be a whole number from ${min} to ${max} (got "${raw}")`);
  return value;
}

/** LANYARD_WORKERS: a count from 1 to 64, or `auto` for one process per CPU the machine gives this one. */
function parseWorkers(raw: string | undefined): number {
  if (raw === undefined) return 1;
  if (raw.toLowerCase() === 'auto') return availableParallelism();
  return integer(() => raw, 'LANYARD_WORKERS', 1, 1, 64);
}

function boolean(read: (name: string) => string | undefined, name: string, fallback: boolean): boolean {
  const raw = read(name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, `must be true or false (got "${raw}")`);
}

function parsePublicUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('LANYARD_PUBLIC_URL', `must be an absolute http(s) URL (got "${raw}")`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError('LANYARD_PUBLIC_URL', 'must use http or https');
  if (url.search !== '' || url.hash !== '') throw new ConfigError('LANYARD_PUBLIC_URL', 'must not have a query or fragment');
  return url.toString().replace(/\/+$/, '');
}

/**
 * `LANYARD_DNS_SERVERS`: comma-separated IP addresses, each optionally with a port (`1.1.1.1`,
 * `10.0.0.2:5353`, `2001:db8::1`, `[2001:db8::1]:53`), in the forms node:dns `setServers` takes.
 * Names are refused: the resolver needs addresses, and resolving them would need a resolver.
 */
function parseDnsServers(raw: string | undefined): readonly string[] | undefined {
  if (raw === undefined) return undefined;
  const servers = raw.split(',').map((entry) => entry.trim());
  for (const server of servers) {
    const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(server);
    const v4 = /^([\d.]+)(?::(\d{1,5}))?$/.exec(server);
    const [address, port] = bracketed ? [bracketed[1], bracketed[2]] : v4 ? [v4[1], v4[2]] : [server, undefined];
    const family = isIP(address ?? '');
    const valid =
      (bracketed ? family === 6 : v4 ? family === 4 : family === 6) && (port === undefined || (Number(port) >= 1 && Number(port) <= 65535));
    if (!valid) {
      throw new ConfigError(
        'LANYARD_DNS_SERVERS',
        `must be comma-separated IP addresses, each optionally with :port (IPv6 with a port in brackets: [::1]:53) (got "${server}")`,
      );
    }
  }
  return Object.freeze(servers);
}

/** Parses 32 bytes given as base64, base64url or hex; the id is derived so it never needs configuring. */
export function parseSecretKey(variable: string, raw: string): SecretKey {
  const key = /^[0-9a-f]{64}$/i.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  if (key.length !== 32) throw new ConfigError(variable, 'must be 32 random bytes in base64 or hex (`openssl rand -base64 32`)');
  return Object.freeze({ id: createHash('sha256').update(key).digest('hex').slice(0, 8), key });
}

/** The configuration as it may be logged: secrets replaced by a marker. */
export function redactConfig(config: Config): Record<string, unknown> {
  return {
    ...config,
    databaseUrl: config.databaseUrl?.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:[redacted]@'),
    secretKey: config.secretKey ? `[key ${config.secretKey.id}]` : undefined,
    previousSecretKeys: config.previousSecretKeys.map((k) => `[key ${k.id}]`),
    bootstrapApiKey: config.bootstrapApiKey ? '[redacted]' : undefined,
    redisUrl: config.redisUrl?.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:[redacted]@'),
  };
}
