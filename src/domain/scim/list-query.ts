import type { ScimListQuery } from '../../http/schemas/scim.ts';
import { filterColumns, type Scalar } from '../../storage/scim-filter-columns.ts';
import { ok, type Result } from '../result.ts';
import { resolveAttrPath, type AttrRef } from './attribute-paths.ts';
import { scimFail, type ScimError } from './errors.ts';
import { parseFilter, type Filter } from './filter-parser.ts';
import type { ResourceKind } from './schema.ts';

/** The most resources one page returns (ServiceProviderConfig filter.maxResults); a larger count is cut to it. */
export const MAX_RESULTS = 200;
/** The page size when `count` is absent. */
export const DEFAULT_COUNT = 100;
const MAX_START_INDEX = 1_000_000_000;

/** The query parameters of a list request as they arrive (strings). */
export type ListParams = ScimListQuery;

/** A projection (RFC 7644 §3.4.2.5): which attributes to return. */
export interface Projection {
  readonly attributes: readonly AttrRef[] | null;
  readonly excluded: readonly AttrRef[];
}

export interface ListQuery {
  readonly filter: Filter | null;
  /** 1-based (RFC 7644 §3.4.2.4). */
  readonly startIndex: number;
  readonly count: number;
  readonly sort: { readonly key: Scalar; readonly descending: boolean } | null;
  readonly projection: Projection;
}

const invalid = (detail: string) => scimFail('scim_invalid_value', detail);

/** Parses `?filter&startIndex&count&sortBy&sortOrder&attributes&excludedAttributes` for `kind`. */
export function parseListQuery(kind: ResourceKind, params: ListParams): Result<ListQuery, ScimError> {
  const startIndex = integer(params.startIndex, 'startIndex', 1);
  if (!startIndex.ok) return startIndex;
  const count = integer(params.count, 'count', DEFAULT_COUNT);
  if (!count.ok) return count;
  const filter = params.filter === undefined || params.filter.trim() === '' ? ok(null) : parseFilter(params.filter);
  if (!filter.ok) return filter;
  const sort = parseSort(kind, params.sortBy, params.sortOrder);
  if (!sort.ok) return sort;
  const projection = parseProjection(kind, params.attributes, params.excludedAttributes);
  if (!projection.ok) return projection;
  return ok({
    filter: filter.value,
    // Below 1 means 1, a negative count means 0 (RFC 7644 §3.4.2.4); above the ceiling, the ceiling.
    startIndex: Math.max(1, startIndex.value),
    count: Math.min(MAX_RESULTS, Math.max(0, count.value)),
    sort: sort.value,
    projection: projection.value,
  });
}

function integer(raw: string | undefined, name: string, fallback: number): Result<number, ScimError> {
  if (raw === undefined || raw === '') return ok(fallback);
  if (!/^-?\d{1,10}$/.test(raw.trim())) return invalid(`${name} must be an integer`);
  const value = Number(raw.trim());
  return value > MAX_START_INDEX ? invalid(`${name} must be at most ${MAX_START_INDEX}`) : ok(value);
}

function parseSort(kind: ResourceKind, sortBy: string | undefined, sortOrder: string | undefined): Result<ListQuery['sort'], ScimError> {
  const order = sortOrder?.toLowerCase();
  if (order !== undefined && order !== 'ascending' && order !== 'descending') return invalid('sortOrder must be ascending or descending');
  if (sortBy === undefined || sortBy === '') return ok(null);
  const ref = resolveAttrPath(kind, sortBy, false);
  if (!ref.ok) return invalid(`sortBy: ${ref.error}`);
  const key = ref.value.kind === 'known' ? filterColumns.sortKey(kind, ref.value) : undefined;
  if (key === undefined) return invalid(`sortBy: ${sortBy} is not a single-valued attribute this server sorts by`);
  return ok({ key, descending: order === 'descending' });
}

/** Parses the comma-separated `attributes` / `excludedAttributes` lists; unknown names are refused. */
export function parseProjection(
  kind: ResourceKind,
  attributes: string | undefined,
  excluded: string | undefined,
): Result<Projection, ScimError> {
  const list = (raw: string | undefined, name: string): Result<AttrRef[] | null, ScimError> => {
    if (raw === undefined || raw.trim() === '') return ok(null);
    const out: AttrRef[] = [];
    for (const item of raw.split(',').slice(0, 100)) {
      const ref = resolveAttrPath(kind, item.trim(), true);
      if (!ref.ok) return invalid(`${name}: ${ref.error}`);
      out.push(ref.value);
    }
    return ok(out);
  };
  const included = list(attributes, 'attributes');
  if (!included.ok) return included;
  const exclusions = list(excluded, 'excludedAttributes');
  if (!exclusions.ok) return exclusions;
  return ok({ attributes: included.value, excluded: exclusions.value ?? [] });
}
