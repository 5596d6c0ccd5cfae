import type { Kysely, Transaction } from 'kysely';
import type { Clock, RandomBytes } from '../../crypto/tokens.ts';
import type { Database, DirectoryRow } from '../../storage/schema.ts';
import { isUniqueViolation } from '../../storage/unique-violation.ts';
import type { Actor } from '../actor.ts';
import { err, ok, type Result } from '../result.ts';
import { scimFail, type ScimError } from './errors.ts';
import { etagOf } from './scim-render.ts';

/** What the SCIM services use. */
export interface ScimDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
}

/** The authenticated directory a SCIM request is for. */
export interface ScimContext {
  readonly directory: DirectoryRow;
  readonly baseUrl: string;
  readonly requestId: string;
}

/** A SCIM answer: status, body (none for 204) and the resource's ETag where there is one. */
export interface ScimOutcome {
  readonly status: number;
  readonly body?: Record<string, unknown>;
  readonly etag?: string;
}

/** Events of a SCIM request are made by the directory, like a setup page's by its ticket. */
export function actorOf(context: ScimContext): Actor {
  return { id: context.directory.id, organizationId: context.directory.organization_id, requestId: context.requestId };
}

class Rollback extends Error {
  constructor(readonly scimError: ScimError) {
    super(scimError.detail);
  }
}

/**
 * Runs `work` in a transaction that commits only when it returns ok; an error Result rolls it back.
 * A unique violation on userName (a concurrent create, or a rename onto a taken name) is the
 * SCIM uniqueness error (RFC 7644 §3.3: 409).
 */
export async function inTransaction<T>(
  db: Kysely<Database>,
  work: (trx: Transaction<Database>) => Promise<Result<T, ScimError>>,
): Promise<Result<T, ScimError>> {
  try {
    return ok(
      await db.transaction().execute(async (trx) => {
        const result = await work(trx);
        if (!result.ok) throw new Rollback(result.error);
        return result.value;
      }),
    );
  } catch (error) {
    if (error instanceof Rollback) return err(error.scimError);
    if (isUniqueViolation(error, 'directory_users_user_name'))
      return scimFail('scim_uniqueness', 'userName is already taken in this directory');
    throw error;
  }
}

/** If-Match (RFC 7644 §3.14, RFC 7232 §3.1): `*` or one of the listed ETags must be the current one. */
export function checkIfMatch(ifMatch: string | undefined, version: number): Result<void, ScimError> {
  if (ifMatch === undefined || ifMatch.trim() === '*') return ok(undefined);
  const current = etagOf(version);
  const listed = ifMatch.split(',').map((t) => t.trim());
  // Weak comparison: W/"3" and "3" name the same version.
  const strip = (tag: string) => tag.replace(/^W\//, '');
  return listed.some((tag) => strip(tag) === strip(current))
    ? ok(undefined)
    : scimFail('scim_precondition_failed', `If-Match ${ifMatch} is not the current version ${current}`);
}

/** The attributes that differ between two stored resources; an extension's attributes as `urn:…:name`. */
export function changedAttributes(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const changed: string[] = [];
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (key === 'schemas' || JSON.stringify(before[key]) === JSON.stringify(after[key])) continue;
    const b = before[key];
    const a = after[key];
    const isContainer = (v: unknown) => v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v));
    if (key.toLowerCase().startsWith('urn:') && isContainer(b) && isContainer(a)) {
      changed.push(
        ...changedAttributes((b ?? {}) as Record<string, unknown>, (a ?? {}) as Record<string, unknown>).map((n) => `${key}:${n}`),
      );
    } else {
      changed.push(key);
    }
  }
  return changed.sort();
}

/** The ids Lanyard assigns, checked before any query: anything else is simply not found. */
export const RESOURCE_ID = { User: /^dusr_[0-9A-Z]{26}$/, Group: /^dgrp_[0-9A-Z]{26}$/ } as const;
