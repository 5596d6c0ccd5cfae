import type { Kysely } from 'kysely';
import type { Config } from '../../config.ts';
import { hashToken, newId, randomToken, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import type { ListDirectoriesQuery } from '../../http/schemas/directories.ts';
import {
  countDirectoryContents,
  deleteDirectory,
  findDirectory,
  insertDirectory,
  listDirectories,
  updateDirectory,
} from '../../storage/directories.ts';
import { organizationExists } from '../../storage/organizations.ts';
import { decodeCursor, toPage, type Page } from '../../storage/pagination.ts';
import type { Database, DirectoryOptions, DirectoryRow } from '../../storage/schema.ts';
import { canSee, type Actor } from '../actor.ts';
import { AppError, notFound } from '../errors.ts';
import { recordEvent } from '../events/events.ts';
import { checkCustomAttributeMapping } from './custom-attributes.ts';
import { DEFAULT_GRACE_SECONDS, type CreateDirectoryInput, type RotateTokenInput, type UpdateDirectoryInput } from './directory-inputs.ts';
import type { DirectoryPayload } from './events.ts';
import { toDirectoryView, type DirectoryView } from './views.ts';

export interface DirectoryServiceDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly config: Pick<Config, 'publicUrl'>;
}

const DIRECTORY_ID = /^dir_[0-9A-Z]{26}$/;
const PROVIDER_NAMES: Record<string, string> = {
  okta: 'Okta',
  entra: 'Microsoft Entra ID',
  jumpcloud: 'JumpCloud',
  onelogin: 'OneLogin',
  pingfederate: 'PingFederate',
  rippling: 'Rippling',
  generic: 'SCIM',
};

/** A new SCIM bearer token; `scim_` marks it for secret scanners. Only its SHA-256 is stored. */
function newToken(random: RandomBytes): string {
  return `scim_${randomToken(random, 32)}`;
}

/**
 * Directories: each organization's SCIM directories, their tokens (shown once; rotation keeps the
 * old one working for a grace period) and options. Organization keys see only their own.
 */
export function createDirectoryService(deps: DirectoryServiceDeps) {
  const { db, clock, random, config } = deps;
  const view = (row: DirectoryRow, token?: string) => toDirectoryView(row, config.publicUrl, clock(), token);

  /** The directory if the actor may see it; unknown, malformed and not-yours read the same. */
  async function loadVisible(trx: Kysely<Database>, actor: Actor, id: string, forUpdate = false): Promise<DirectoryRow> {
    const row = DIRECTORY_ID.test(id) ? await findDirectory(trx, id, { forUpdate }) : undefined;
    if (row === undefined || !canSee(actor, row.organization_id)) throw notFound('directory');
    return row;
  }

  function checkOptions(options: CreateDirectoryInput['options']): DirectoryOptions {
    const mapping = options?.customAttributes ?? {};
    const checked = checkCustomAttributeMapping(mapping);
    if (!checked.ok)
      throw new AppError('validation_failed', `options.customAttributes.${checked.error.name}: ${checked.error.error.detail}`, [
        { field: `options.customAttributes.${checked.error.name}`, message: checked.error.error.detail },
      ]);
    return {
      ...(options?.refuseInactiveUsers !== undefined ? { refuseInactiveUsers: options.refuseInactiveUsers } : {}),
      customAttributes: mapping,
    };
  }

  function payload(row: DirectoryRow, extra: Omit<DirectoryPayload, 'directory'> = {}): DirectoryPayload {
    return {
      directory: { id: row.id, name: row.name, provider: row.provider, organizationId: row.organization_id, state: row.state },
      ...extra,
    };
  }

  return {
    /** Creates a directory; the answer carries the SCIM token, which is never shown again. */
    async create(actor: Actor, input: CreateDirectoryInput): Promise<DirectoryView> {
      const options = checkOptions(input.options);
      const now = clock();
      const token = newToken(random);
      const provider = input.provider ?? 'generic';
      const lifetime = input.tokenLifetimeSeconds ?? null;
      return db.transaction().execute(async (trx) => {
        if (!canSee(actor, input.organizationId) || !(await organizationExists(trx, input.organizationId)))
          throw new AppError('not_found', 'organization not found', [{ field: 'organizationId', message: 'no such organization' }]);
        const row = await insertDirectory(trx, {
          id: newId('dir', now, random),
          organization_id: input.organizationId,
          name: input.name ?? `${PROVIDER_NAMES[provider] ?? 'SCIM'} directory`,
          provider,
          state: 'pending',
          token_hash: hashToken(token),
          token_expires_at: lifetime === null ? null : new Date(now.getTime() + lifetime * 1000),
          token_lifetime_seconds: lifetime,
          options,
          created_at: now,
          updated_at: now,
        });
        await recordEvent(trx, { now, random }, actor, {
          type: 'directory.created',
          organizationId: row.organization_id,
          summary: payload(row),
        });
        return view(row, token);
      });
    },

    async get(actor: Actor, id: string): Promise<DirectoryView & { users: number; groups: number }> {
      const row = await loadVisible(db, actor, id);
      return { ...view(row), ...(await countDirectoryContents(db, row.id)) };
    },

    /** Directories in creation order; an organization key sees only its own. */
    async list(actor: Actor, query: ListDirectoriesQuery): Promise<Page<DirectoryView>> {
      if (actor.organizationId !== null && query.organizationId !== undefined && query.organizationId !== actor.organizationId)
        return { data: [], nextCursor: null };
      const rows = await listDirectories(db, {
        organizationId: actor.organizationId ?? query.organizationId,
        after: decodeCursor(query.cursor),
        limit: query.limit,
      });
      return toPage(rows, query.limit, (row) => view(row));
    },

    /** Changes name, provider, token lifetime (applies to the next token) or options. */
    async update(actor: Actor, id: string, input: UpdateDirectoryInput): Promise<DirectoryView> {
      const now = clock();
      return db.transaction().execute(async (trx) => {
        const row = await loadVisible(trx, actor, id, true);
        const options = input.options === undefined ? undefined : { ...row.options, ...checkOptions({ ...row.options, ...input.options }) };
        const updated = await updateDirectory(trx, id, {
          updated_at: now,
          ...(input.name !== undefined ? { name: input.name } : {}),
          ...(input.provider !== undefined ? { provider: input.provider } : {}),
          ...(input.tokenLifetimeSeconds !== undefined ? { token_lifetime_seconds: input.tokenLifetimeSeconds } : {}),
          ...(options !== undefined ? { options } : {}),
        });
        const changed = Object.keys(input).filter((k) => (input as Record<string, unknown>)[k] !== undefined);
        await recordEvent(trx, { now, random }, actor, {
          type: 'directory.updated',
          organizationId: row.organization_id,
          summary: payload(updated, { changed }),
        });
        return view(updated);
      });
    },

    /** Deletes the directory with every user, group and membership it holds. */
    async delete(actor: Actor, id: string): Promise<void> {
      const now = clock();
      await db.transaction().execute(async (trx) => {
        const row = await loadVisible(trx, actor, id, true);
        const removed = await countDirectoryContents(trx, id);
        await deleteDirectory(trx, id);
        await recordEvent(trx, { now, random }, actor, {
          type: 'directory.deleted',
          organizationId: row.organization_id,
          summary: payload(row, { removed }),
        });
      });
    },

    /**
     * Issues a new token (shown once). The old one keeps working for `gracePeriodSeconds` (default
     * one day), never beyond its own expiry; a token from before that is dropped at once.
     */
    async rotateToken(actor: Actor, id: string, input: RotateTokenInput): Promise<DirectoryView> {
      const now = clock();
      const token = newToken(random);
      const grace = input.gracePeriodSeconds ?? DEFAULT_GRACE_SECONDS;
      return db.transaction().execute(async (trx) => {
        const row = await loadVisible(trx, actor, id, true);
        const graceEnd = new Date(now.getTime() + grace * 1000);
        const until = row.token_expires_at !== null && row.token_expires_at < graceEnd ? row.token_expires_at : graceEnd;
        const updated = await updateDirectory(trx, id, {
          token_hash: hashToken(token),
          token_expires_at: row.token_lifetime_seconds === null ? null : new Date(now.getTime() + row.token_lifetime_seconds * 1000),
          previous_token_hash: grace > 0 && until > now ? row.token_hash : null,
          previous_token_expires_at: grace > 0 && until > now ? until : null,
          updated_at: now,
        });
        const previousTokenValidUntil = updated.previous_token_expires_at?.toISOString() ?? null;
        await recordEvent(trx, { now, random }, actor, {
          type: 'directory.token_rotated',
          organizationId: row.organization_id,
          summary: payload(updated, { previousTokenValidUntil }),
        });
        return view(updated, token);
      });
    },

    /** The directory a management read is about, checked for visibility. */
    visible: (actor: Actor, id: string) => loadVisible(db, actor, id),
  };
}

export type DirectoryService = ReturnType<typeof createDirectoryService>;
