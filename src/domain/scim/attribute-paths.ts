import { err, ok, type Result } from '../result.ts';
import { coreAttributes, findAttribute, findExtension, type AttributeDef, type ResourceKind, type SchemaDef } from './schema.ts';

/**
 * An attribute path resolved against a resource kind (RFC 7644 §3.10: `[URI ":"] ATTRNAME ["." subAttr]`).
 * `known` names an attribute of the schema (canonical spelling); `opaque` names one the schema does
 * not define (a custom extension an IdP admin mapped), which is stored and returned as sent but
 * never filtered on.
 */
export type AttrRef =
  | { readonly kind: 'known'; readonly extension: SchemaDef | null; readonly attribute: AttributeDef; readonly sub: AttributeDef | null }
  | { readonly kind: 'opaque'; readonly container: string | null; readonly name: string; readonly sub: string | null };

const ATTRNAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const SUBNAME = /^(?:[A-Za-z][A-Za-z0-9_-]*|\$ref)$/;
// A schema URN prefix: `urn:` and colon-separated parts of URN characters (RFC 8141, simplified).
const URN = /^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}(?::[A-Za-z0-9()+,\-.=@;$_!*'%/?#]+)+$/i;

/** Splits `[URN:]attr[.sub]` into its URN (null when absent) and the rest. */
function splitUrn(kind: ResourceKind, text: string): { urn: string | null; rest: string } | undefined {
  if (!/^urn:/i.test(text)) return { urn: null, rest: text };
  const lower = text.toLowerCase();
  for (const schema of [kind.core, ...kind.extensions]) {
    const prefix = `${schema.id.toLowerCase()}:`;
    if (lower.startsWith(prefix)) return { urn: schema.id, rest: text.slice(prefix.length) };
  }
  // An unknown schema: the attribute is what follows the last colon.
  const colon = text.lastIndexOf(':');
  const urn = text.slice(0, colon);
  if (colon <= 4 || !URN.test(urn)) return undefined;
  return { urn, rest: text.slice(colon + 1) };
}

/**
 * Resolves `text` against `kind`. With `allowOpaque`, names the schema does not define are
 * accepted as opaque (stored as sent); otherwise they are an error, as filters need types.
 */
export function resolveAttrPath(kind: ResourceKind, text: string, allowOpaque: boolean): Result<AttrRef, string> {
  const split = splitUrn(kind, text);
  if (split === undefined) return err(`"${text}" is not an attribute path`);
  const parts = split.rest.split('.');
  if (parts.length > 2 || parts[0] === undefined || !ATTRNAME.test(parts[0])) return err(`"${text}" is not an attribute path`);
  const [name, subName = null] = parts as [string, string?];
  if (subName !== null && !SUBNAME.test(subName)) return err(`"${text}" is not an attribute path`);
  const isCore = split.urn === null || split.urn === kind.core.id;
  const extension = isCore ? null : (findExtension(kind, split.urn ?? '') ?? null);
  const pool = isCore ? coreAttributes(kind) : (extension?.attributes ?? []);
  const attribute = isCore || extension !== null ? findAttribute(pool, name) : undefined;
  if (attribute === undefined) {
    // A known schema's unknown attribute is a mistake; an unknown schema's attribute is opaque.
    if (!allowOpaque || extension !== null) return err(`"${text}" names no attribute of the ${kind.name} schema`);
    return ok({ kind: 'opaque', container: isCore ? null : split.urn, name, sub: subName });
  }
  if (subName === null) return ok({ kind: 'known', extension, attribute, sub: null });
  const sub = attribute.subAttributes === undefined ? undefined : findAttribute(attribute.subAttributes, subName);
  if (sub === undefined) return err(`"${text}" names no sub-attribute of ${attribute.name}`);
  return ok({ kind: 'known', extension, attribute, sub });
}

/** Resolves a sub-attribute name inside a value filter of `parent` (`emails[type eq "work"]`). */
export function resolveSubAttr(parent: AttributeDef, text: string): Result<AttributeDef, string> {
  const name = text.includes(':') ? text.slice(text.lastIndexOf(':') + 1) : text;
  const sub = parent.subAttributes === undefined || !SUBNAME.test(name) ? undefined : findAttribute(parent.subAttributes, name);
  return sub === undefined ? err(`"${text}" names no sub-attribute of ${parent.name}`) : ok(sub);
}

/** The key under which a known attribute's value is stored: its container (an extension URN or the top) and name. */
export function storageKey(ref: AttrRef): { container: string | null; name: string } {
  if (ref.kind === 'opaque') return { container: ref.container, name: ref.name };
  return { container: ref.extension?.id ?? null, name: ref.attribute.name };
}
