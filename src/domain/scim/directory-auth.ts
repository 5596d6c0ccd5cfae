import type { Kysely } from 'kysely';
import { constantTimeEqual, hashToken, newId, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import { activateDirectory, findDirectory, recordDirectoryRequest, touchDirectory } from '../../storage/directories.ts';
import type { Database, DirectoryRow } from '../../storage/schema.ts';
import { recordEvent } from '../events/events.ts';
import { toStorableText } from '../storable-text.ts';

/** Traced requests kept per directory; older ones are dropped as new ones arrive. */
export const TRACE_KEPT = 1000;
// How stale last_request_at may get: writing it on every request would serialize Entra's parallel requests on one row.
const LAST_REQUEST_RESOLUTION_MS = 60_000;
const DIRECTORY_ID = /^dir_[0-9A-Z]{26}$/;

/** One SCIM request as the trace keeps it: no headers, no bodies, no token. */
export interface TracedRequest {
  readonly directoryId: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly scimType: string | null;
  readonly detail: string | null;
  readonly durationMs: number;
  readonly userAgent: string | null;
  readonly requestId: string;
}

/**
 * The directory side of a SCIM request: which directory a bearer token opens, its activation on
 * the first authenticated request (`dsync.activated`), and the request trace.
 */
export function createDirectoryAuth(deps: { readonly db: Kysely<Database>; readonly clock: Clock; readonly random: RandomBytes }) {
  const { db, clock, random } = deps;

  /** True when `token` is the directory's current token, or its previous one within the grace period, neither expired. */
  function tokenOpens(row: DirectoryRow, token: string, now: Date): boolean {
    const hash = hashToken(token);
    // Both comparisons always run, so the time taken says nothing about which one matched.
    const current = constantTimeEqual(hash, row.token_hash) && (row.token_expires_at === null || row.token_expires_at > now);
    const previous =
      constantTimeEqual(hash, row.previous_token_hash ?? '') &&
      row.previous_token_expires_at !== null &&
      row.previous_token_expires_at > now;
    return current || previous;
  }

  return {
    /** The directory `token` opens, or null: unknown directory, wrong, expired or rotated-out token all read the same. */
    async authenticate(directoryId: string, token: string | undefined, requestId: string): Promise<DirectoryRow | null> {
      if (!DIRECTORY_ID.test(directoryId) || token === undefined) return null;
      const row = await findDirectory(db, directoryId);
      const now = clock();
      if (row === undefined || !tokenOpens(row, token, now)) return null;
      if (row.state === 'pending') {
        await db.transaction().execute(async (trx) => {
          if (!(await activateDirectory(trx, row.id, now))) return;
          await recordEvent(
            trx,
            { now, random },
            { id: row.id, organizationId: row.organization_id, requestId },
            {
              type: 'dsync.activated',
              organizationId: row.organization_id,
              summary: { directory: { id: row.id, name: row.name, provider: row.provider } },
            },
          );
        });
        return { ...row, state: 'active', last_request_at: now };
      }
      if (row.last_request_at === null || now.getTime() - row.last_request_at.getTime() > LAST_REQUEST_RESOLUTION_MS)
        await touchDirectory(db, row.id, now, LAST_REQUEST_RESOLUTION_MS);
      return row;
    },

    /** Whether a directory exists, so requests to it are traced even when their token is wrong. */
    async exists(directoryId: string): Promise<boolean> {
      return DIRECTORY_ID.test(directoryId) && (await findDirectory(db, directoryId)) !== undefined;
    },

    /** Appends a request to its directory's trace (bounded to TRACE_KEPT). */
    async trace(request: TracedRequest): Promise<void> {
      const now = clock();
      await recordDirectoryRequest(
        db,
        {
          id: newId('dreq', now, random),
          directory_id: request.directoryId,
          method: request.method,
          path: toStorableText(request.path.slice(0, 1000)),
          status: request.status,
          scim_type: request.scimType,
          detail: request.detail === null ? null : toStorableText(request.detail.slice(0, 500)),
          duration_ms: Math.max(0, Math.round(request.durationMs)),
          user_agent: request.userAgent === null ? null : toStorableText(request.userAgent.slice(0, 200)),
          request_id: request.requestId,
          created_at: now,
        },
        TRACE_KEPT,
      );
    },
  };
}

export type DirectoryAuth = ReturnType<typeof createDirectoryAuth>;
