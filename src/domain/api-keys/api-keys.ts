import type { Kysely } from 'kysely';
import { hashToken, newId, randomToken, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import {
  findApiKey,
  findApiKeyByTokenHash,
  insertApiKey,
  listApiKeys,
  lockForBootstrap,
  revokeApiKey,
  touchApiKey,
} from '../../storage/api-keys.ts';
import { organizationExists } from '../../storage/organizations.ts';
import { decodeCursor, toPage, type Page } from '../../storage/pagination.ts';
import type { ApiKeyRow, Database } from '../../storage/schema.ts';
import type { ApiKey, CreateApiKeyBody } from '../../http/schemas/api-keys.ts';
import { canSee, SYSTEM_ACTOR, type Actor } from '../actor.ts';
import { AppError, notFound } from '../errors.ts';
import { recordEvent } from '../events/events.ts';

export interface ApiKeyServiceDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
}

// How stale last_used_at may get: writing it on every request would turn reads into writes.
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * API keys: `key_…` ids, tokens `<id>.<secret>` of which only a SHA-256 is stored. A token is
 * looked up by its hash, so comparison never touches the secret itself.
 */
export function createApiKeyService(deps: ApiKeyServiceDeps) {
  const { db, clock, random } = deps;

  async function insertKey(trx: Kysely<Database>, actor: Actor, name: string, organizationId: string | null, token?: string) {
    const now = clock();
    const id = newId('key', now, random);
    const secretToken = token ?? `${id}.${randomToken(random)}`;
    const row = await insertApiKey(trx, { id, name, organization_id: organizationId, token_hash: hashToken(secretToken), created_at: now });
    await recordEvent(trx, { now, random }, actor, {
      type: 'api_key.created',
      organizationId,
      summary: { keyId: id, name, scope: organizationId === null ? 'admin' : 'organization' },
    });
    return { ...toApiKey(row), token: secretToken };
  }

  return {
    /** Creates a key; an organization key may only create keys for its own organization. */
    async create(actor: Actor, input: CreateApiKeyBody): Promise<ApiKey & { token: string }> {
      // Omitted: the actor's own scope. Explicit null: an admin key, which only an admin may mint.
      const organizationId = input.organizationId === undefined ? actor.organizationId : input.organizationId;
      if (actor.organizationId !== null && organizationId !== actor.organizationId) {
        throw new AppError('forbidden', 'an organization API key can only create keys for its own organization');
      }
      return db.transaction().execute(async (trx) => {
        if (organizationId !== null) {
          if (!(await organizationExists(trx, organizationId)))
            throw new AppError('validation_failed', 'organizationId names no organization', [
              { field: 'organizationId', message: 'no such organization' },
            ]);
        }
        return insertKey(trx, actor, input.name, organizationId);
      });
    },

    async list(actor: Actor, query: { limit: number; cursor?: string | undefined }): Promise<Page<ApiKey>> {
      const after = decodeCursor(query.cursor);
      const rows = await listApiKeys(db, { organizationId: actor.organizationId ?? undefined, after, limit: query.limit });
      return toPage(rows, query.limit, toApiKey);
    },

    async get(actor: Actor, id: string): Promise<ApiKey> {
      const row = await findApiKey(db, id);
      if (row === undefined || (actor.organizationId !== null && !(row.organization_id !== null && canSee(actor, row.organization_id))))
        throw notFound('API key');
      return toApiKey(row);
    },

    /** Revokes a key: it stops authenticating at once; the record stays for the audit trail. */
    async revoke(actor: Actor, id: string): Promise<void> {
      const key = await this.get(actor, id);
      const now = clock();
      await db.transaction().execute(async (trx) => {
        await revokeApiKey(trx, id, now);
        await recordEvent(trx, { now, random }, actor, {
          type: 'api_key.revoked',
          organizationId: key.organizationId,
          summary: { keyId: id, name: key.name },
        });
      });
    },

    /** The actor a bearer token stands for, or null when it is unknown or revoked. */
    async authenticate(token: string, requestId: string | null): Promise<Actor | null> {
      const row = await findApiKeyByTokenHash(db, hashToken(token));
      if (row === undefined || row.revoked_at !== null) return null;
      const now = clock();
      if (row.last_used_at === null || now.getTime() - row.last_used_at.getTime() > LAST_USED_RESOLUTION_MS) {
        await touchApiKey(db, row.id, now);
      }
      return { id: row.id, organizationId: row.organization_id, requestId };
    },

    /**
     * On an empty key table, installs the first admin key: `token` when given (from
     * LANYARD_BOOTSTRAP_API_KEY), else a new one. Returns the key, or null when keys already exist.
     */
    async bootstrap(token?: string): Promise<(ApiKey & { token: string }) | null> {
      return db.transaction().execute(async (trx) => {
        if ((await lockForBootstrap(trx)).anyKey) return null;
        return insertKey(trx, SYSTEM_ACTOR, 'bootstrap admin key', null, token);
      });
    },
  };
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;

function toApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    organizationId: row.organization_id,
    scope: row.organization_id === null ? 'admin' : 'organization',
    createdAt: row.created_at.toISOString(),
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
  };
}
