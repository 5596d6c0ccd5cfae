import type { Filter } from './filter-parser.ts';
import type { ResourceKind } from './schema.ts';

/**
 * What real SCIM clients send that RFC 7644 does not say, normalized here and nowhere else, each
 * with its source. Every normalization applies whatever the directory's `provider` says: the
 * compliant form of each request is unaffected, and an IdP can change behaviour under a feature
 * flag (Entra's `aadOptscim062020`) without the directory being told.
 *
 * Two more live where the grammar is read, and are listed here so this module names them all:
 * Entra ID's user lookup `emails[type eq "work"].value eq "…"` when that is its matching
 * attribute (Delinea, "Entra ID SCIM endpoints"; not in RFC 7644's filter grammar) is read by
 * filter-parser.ts as `emails[type eq "work" and value eq "…"]`; and a PUT that omits `active`
 * keeps the user's current state (scim-users.ts), so a client that forgets it never reactivates
 * someone who left.
 */

/** A PATCH operation as sent, before normalization. */
export interface RawPatchOperation {
  readonly op?: unknown;
  readonly path?: unknown;
  readonly value?: unknown;
}

/** A PATCH operation after normalization: a lower-case op, a path or none, a value or none. */
export interface PatchOperation {
  readonly op: 'add' | 'remove' | 'replace';
  readonly path: string | undefined;
  readonly value: unknown;
}

/**
 * Microsoft Entra ID (the non-compliant behaviour without `aadOptscim062020`) capitalizes ops:
 * `"op":"Replace"`, `"Add"`, `"Remove"` ("Known issues and resolutions with SCIM 2.0 protocol
 * compliance of the Microsoft Entra user provisioning service"; MicrosoftDocs/azure-docs#42220).
 * RFC 7644 §3.5.2 spells them lower-case; they are compared case-insensitively.
 */
export function normalizeOp(op: unknown): 'add' | 'remove' | 'replace' | undefined {
  if (typeof op !== 'string') return undefined;
  const lower = op.toLowerCase();
  return lower === 'add' || lower === 'remove' || lower === 'replace' ? lower : undefined;
}

/**
 * Entra ID (non-compliant behaviour) sends booleans as strings: `"active":"False"` (Microsoft's
 * known-issues page; ssoready/ssoready#155, where a deactivation left the user active). A string
 * "true"/"false" in any case, where the schema says boolean, is that boolean; anything else stays
 * as sent and is refused by the type check.
 */
export function booleanFromString(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const lower = value.trim().toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : value;
}

/**
 * Rewrites the operations of one PATCH request into their compliant forms:
 *
 * - Entra ID (and JumpCloud, which follows it) removes group members with a value array,
 *   `{"op":"Remove","path":"members","value":[{"value":"<id>"}]}` (Microsoft's known-issues page,
 *   "remove members"); the compliant form is `members[value eq "<id>"]`. Only the listed members
 *   are removed: the peers that treated it as "remove all" emptied groups (AzureAD/SCIMReferenceCode#10,
 *   kortix-ai/suna#7297). The same holds for any multi-valued attribute.
 * - Entra ID's pathless replace carries dotted and URN-prefixed keys, `{"name.givenName": "…",
 *   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "…"}`
 *   (Captain-P-Goldfish/scim-for-keycloak#26; Microsoft's known-issues page): each becomes an
 *   operation with that path.
 * - Okta renames a group with a pathless replace that repeats the group's id, `{"id": "<id>",
 *   "displayName": "…"}` (Okta, "SCIM 2.0 — Update a specific Group name"): an `id` equal to the
 *   resource's is dropped (a different one is still refused as a read-only change), and so are
 *   `schemas` keys that some clients copy into values.
 * - Entra ID sets the manager as a bare id, `{"op":"Add","path":"urn:…:enterprise:2.0:User:manager",
 *   "value":"<id>"}` (Microsoft, "Tutorial: develop a SCIM endpoint", manager examples): it becomes
 *   `{"value":"<id>"}`, the complex value RFC 7643 §4.3 defines.
 */
export function normalizeOperations(kind: ResourceKind, resourceId: string, operations: readonly PatchOperation[]): PatchOperation[] {
  const out: PatchOperation[] = [];
  for (const operation of operations) {
    if (operation.path === undefined) {
      out.push(...expandPathless(kind, operation, resourceId));
      continue;
    }
    if (operation.op === 'remove' && operation.value !== undefined && isMultiValuedPath(kind, operation.path)) {
      const values: unknown[] = Array.isArray(operation.value) ? operation.value : [operation.value];
      for (const item of values) {
        const value = typeof item === 'object' && item !== null ? (item as Record<string, unknown>).value : item;
        // A listed value that is not a string matches nothing; it never widens into "remove all".
        out.push({
          op: 'remove',
          path: `${operation.path}[value eq ${JSON.stringify(typeof value === 'string' ? value : '')}]`,
          value: undefined,
        });
      }
      continue;
    }
    out.push({ ...operation, value: managerValue(operation.path, operation.value) });
  }
  return out;
}

function isMultiValuedPath(kind: ResourceKind, path: string): boolean {
  if (path.includes('[')) return false;
  const name = path.toLowerCase();
  return kind.name === 'Group'
    ? name === 'members'
    : ['emails', 'phonenumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles', 'x509certificates'].includes(name);
}

const MANAGER_PATH = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:manager';

function managerValue(path: string, value: unknown): unknown {
  return path.toLowerCase() === MANAGER_PATH && typeof value === 'string' ? { value } : value;
}

function expandPathless(kind: ResourceKind, operation: PatchOperation, resourceId: string): PatchOperation[] {
  const value = operation.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [operation];
  const schemas = [kind.core.id, ...kind.extensions.map((s) => s.id)].map((id) => id.toLowerCase());
  const kept: Record<string, unknown> = {};
  const expanded: PatchOperation[] = [];
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const lower = key.toLowerCase();
    if (lower === 'schemas' || (lower === 'id' && item === resourceId)) continue;
    // A key is a path when dotted (`name.givenName`) or an attribute under a schema URN; a bare URN holds an extension's object.
    const isUrn = lower.startsWith('urn:');
    const underKnownSchema = isUrn && schemas.some((id) => lower.startsWith(`${id}:`));
    const isPath = isUrn ? underKnownSchema || (typeof item !== 'object' && !schemas.includes(lower)) : key.includes('.');
    if (isPath) expanded.push({ op: operation.op, path: key, value: managerValue(key, item) });
    else kept[key] = item;
  }
  return [...(Object.keys(kept).length > 0 || expanded.length === 0 ? [{ ...operation, value: kept }] : []), ...expanded];
}

/**
 * Entra ID adds and replaces through a filter that matches nothing yet, `{"op":"Add","path":
 * "emails[type eq \"work\"].value","value":"…"}` on a user with no work email (Microsoft Q&A
 * 708183 and 1684621). RFC 7644 §3.5.2.3 would answer noTarget; the evident intent is to create
 * the element the filter describes. Only a filter of `eq` comparisons joined by `and` describes
 * one; the element it describes is returned, else undefined (and the request gets noTarget).
 */
export function elementFromFilter(filter: Filter): Record<string, unknown> | undefined {
  if (filter.type === 'compare' && filter.op === 'eq' && filter.value.kind !== 'null' && !filter.path.includes('.'))
    return { [filter.path]: filter.value.value };
  if (filter.type !== 'and') return undefined;
  const left = elementFromFilter(filter.left);
  const right = elementFromFilter(filter.right);
  return left === undefined || right === undefined ? undefined : { ...left, ...right };
}
