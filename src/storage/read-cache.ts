// The rows every login reads (the application by client id, the connections it may use with their
// opened secrets, who holds a verified domain) kept in memory, so a login's statements are the
// writes it must make.
//
// Correct across writers by invalidation, never by expiry alone:
// - in this process, every statement that writes applications, connections, organizations or
//   organization_domains (including a cascade from an organization) clears the cache before it runs and again after,
//   through a Kysely plugin on the one Kysely instance the database handle gives out;
// - on PostgreSQL, other instances' writes (and anyone's, psql included) reach us as a NOTIFY on
//   CHANGES_CHANNEL from a trigger (migrations 0015 and 0018), on a connection of our own; while
//   that connection is down nothing is cached, and reconnecting clears the cache.
// Staleness is then bounded by NOTIFY's delivery (milliseconds) and, should a notification be lost
// unnoticed, by TTL_MS. The embedded database has one process, so the plugin alone is exact there.
import type {
  AliasNode,
  KyselyPlugin,
  OperationNode,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  TableNode,
  UnknownRow,
} from 'kysely';

/** The NOTIFY channel of migration 0015's trigger. */
export const CHANGES_CHANNEL = 'lanyard_changes';

/** The longest a cached value is used, whatever the notifications say. */
export const TTL_MS = 10_000;
/** Entries kept at most (the cache is emptied when full: bounded memory whatever the traffic). */
const MAX_ENTRIES = 10_000;

const WATCHED_TABLES: ReadonlySet<string> = new Set(['applications', 'connections', 'organizations', 'organization_domains']);
const WATCHED_IN_RAW_SQL = new RegExp(`\\b(${[...WATCHED_TABLES].join('|')})\\b`, 'i');

export interface ReadCache {
  /** The value under `key`, loaded with `load` when absent, expired, or while caching is off. */
  get<T>(key: string, load: () => Promise<T>): Promise<T>;
  /** Forgets everything (a watched table changed). */
  invalidate(): void;
  /** Caching on (notifications flow) or off (they may be missed); either way the cache starts empty. */
  setLive(live: boolean): void;
  /** Installed on the database's Kysely instance: invalidates around every write of a watched table. */
  readonly plugin: KyselyPlugin;
}

const caches = new WeakMap<object, ReadCache>();
/** A cache that never holds anything, for a Kysely instance openDatabase did not make. */
let noCache: ReadCache | undefined;

/** Makes `cache` the one readCacheOf(db) gives (storage/database.ts, when it opens a database). */
export function attachReadCache(db: object, cache: ReadCache): void {
  caches.set(db, cache);
}

/** The read cache of a database openDatabase opened; for any other Kysely instance, one that caches nothing. */
export function readCacheOf(db: object): ReadCache {
  return caches.get(db) ?? (noCache ??= createReadCache());
}

export function createReadCache(now: () => number = Date.now): ReadCache {
  const entries = new Map<string, { value: unknown; expiresAt: number }>();
  let generation = 0;
  let live = false;
  const writes = new WeakSet<object>();

  const invalidate = (): void => {
    generation++;
    entries.clear();
  };

  return {
    async get<T>(key: string, load: () => Promise<T>): Promise<T> {
      if (!live) return load();
      const hit = entries.get(key);
      if (hit !== undefined && hit.expiresAt > now()) return hit.value as T;
      const seen = generation;
      const value = await load();
      // A write (or the notifications stopping: setLive invalidates too) while we read: keep nothing.
      if (seen === generation) {
        if (entries.size >= MAX_ENTRIES) entries.clear();
        entries.set(key, { value, expiresAt: now() + TTL_MS });
      }
      return value;
    },
    invalidate,
    setLive(value) {
      live = value;
      invalidate();
    },
    plugin: {
      transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
        if (writesWatchedTable(args.node)) {
          writes.add(args.queryId);
          invalidate();
        }
        return args.node;
      },
      transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
        // Again once it ran: a read between the first invalidation and this write's end saw the old row.
        if (writes.has(args.queryId)) invalidate();
        return Promise.resolve(args.result);
      },
    },
  };
}

/** True for a statement that may write a watched table: the table it writes, a data-modifying CTE, or raw SQL naming one. */
export function writesWatchedTable(node: RootOperationNode): boolean {
  switch (node.kind) {
    case 'InsertQueryNode':
    case 'MergeQueryNode':
      return isWatched(node.into) || mentionsWatched(node.with);
    case 'UpdateQueryNode':
      return isWatched(node.table) || mentionsWatched(node.with);
    case 'DeleteQueryNode':
      return node.from.froms.some(isWatched) || mentionsWatched(node.with);
    case 'SelectQueryNode':
      return mentionsWatched(node.with);
    case 'RawNode': {
      const text = node.sqlFragments.join(' ');
      return /\b(insert|update|delete|merge|truncate)\b/i.test(text) && WATCHED_IN_RAW_SQL.test(text);
    }
    default:
      return false;
  }
}

function isWatched(node: OperationNode | undefined): boolean {
  const table = node?.kind === 'AliasNode' ? (node as AliasNode).node : node;
  return table?.kind === 'TableNode' && WATCHED_TABLES.has((table as TableNode).table.identifier.name);
}

/** A WITH clause may hold an INSERT, UPDATE or DELETE: any mention of a watched table counts (rare, never on the login's reads). */
function mentionsWatched(node: OperationNode | undefined): boolean {
  if (node === undefined) return false;
  const text = JSON.stringify(node);
  return [...WATCHED_TABLES].some((table) => text.includes(`"${table}"`));
}
