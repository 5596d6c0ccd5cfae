import type { Kysely } from 'kysely';
import { constantTimeEqual, hashToken, newId, randomToken, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import {
  deleteApplication,
  findApplication,
  findApplicationByClientId,
  insertApplication,
  listApplications,
  updateApplication,
} from '../../storage/applications.ts';
import { decodeCursor, toPage, type Page } from '../../storage/pagination.ts';
import { readCacheOf } from '../../storage/read-cache.ts';
import type { ApplicationRow, Database } from '../../storage/schema.ts';
import type { Application, CreateApplicationBody, UpdateApplicationBody } from '../../http/schemas/applications.ts';
import { requireAdmin, type Actor } from '../actor.ts';
import { AppError, notFound } from '../errors.ts';
import { recordEvent } from '../events/events.ts';
import { validateRedirectUris } from './redirect-uris.ts';

/** Applications: the SaaS company's apps that send users to Lanyard to sign in. Admin keys only. */
export function createApplicationService(deps: { db: Kysely<Database>; clock: Clock; random: RandomBytes }) {
  const { db, clock, random } = deps;
  const cache = readCacheOf(db);
  // The login's lookup, on every authorize and token request: from memory (storage/read-cache.ts).
  const byClientId = (clientId: string) => cache.get(`application:${clientId}`, () => findApplicationByClientId(db, clientId));

  async function load(id: string): Promise<ApplicationRow> {
    const row = await findApplication(db, id);
    if (row === undefined) throw notFound('application');
    return row;
  }

  function check(input: CreateApplicationBody): void {
    validateRedirectUris(input.redirectUris);
    validateRedirectUris(input.postLogoutRedirectUris ?? [], 'postLogoutRedirectUris');
    // Back-Channel Logout 1.0 §2.2: an absolute URL without a fragment; https as for redirect URIs.
    if (input.backchannelLogoutUri != null) validateRedirectUris([input.backchannelLogoutUri], 'backchannelLogoutUri');
    if (input.defaultRedirectUri != null && !input.redirectUris.includes(input.defaultRedirectUri)) {
      throw new AppError('validation_failed', 'defaultRedirectUri must be one of redirectUris', [
        { field: 'defaultRedirectUri', message: 'must be one of redirectUris' },
      ]);
    }
    // An opt-out of PKCE is a decision on record: it names its reason, and only an opt-out has one.
    const exempt = input.requirePkce === false;
    if (exempt !== (input.pkceExemptReason != null)) {
      const message = exempt ? 'is required with requirePkce: false' : 'is only for requirePkce: false';
      throw new AppError('validation_failed', `pkceExemptReason ${message}`, [{ field: 'pkceExemptReason', message }]);
    }
  }

  return {
    async create(actor: Actor, input: CreateApplicationBody): Promise<Application & { clientSecret: string }> {
      requireAdmin(actor, 'manage applications');
      check(input);
      const now = clock();
      const id = newId('app', now, random);
      const clientSecret = randomToken(random);
      const row = await db.transaction().execute(async (trx) => {
        const inserted = await insertApplication(trx, {
          id,
          name: input.name,
          client_id: `client_${randomToken(random, 16)}`,
          client_secret_hash: hashToken(clientSecret),
          redirect_uris: input.redirectUris,
          default_redirect_uri: input.defaultRedirectUri ?? null,
          organization_ids: input.organizationIds ?? null,
          require_pkce: input.requirePkce ?? true,
          pkce_exempt_reason: input.pkceExemptReason ?? null,
          post_logout_redirect_uris: input.postLogoutRedirectUris ?? [],
          backchannel_logout_uri: input.backchannelLogoutUri ?? null,
          created_at: now,
          updated_at: now,
        });
        await recordEvent(trx, { now, random }, actor, {
          type: 'application.created',
          organizationId: null,
          summary: { applicationId: id, name: input.name },
        });
        return inserted;
      });
      return { ...toApplication(row), clientSecret };
    },

    async get(actor: Actor, id: string): Promise<Application> {
      requireAdmin(actor, 'manage applications');
      return toApplication(await load(id));
    },

    /** Applications in creation order; with `organizationId`, those its users may sign in to. */
    async list(
      actor: Actor,
      query: { limit: number; cursor?: string | undefined; organizationId?: string | undefined },
    ): Promise<Page<Application>> {
      requireAdmin(actor, 'manage applications');
      const after = decodeCursor(query.cursor);
      return toPage(
        await listApplications(db, { after, limit: query.limit, organizationId: query.organizationId }),
        query.limit,
        toApplication,
      );
    },

    async update(actor: Actor, id: string, input: UpdateApplicationBody): Promise<Application> {
      requireAdmin(actor, 'manage applications');
      const current = toApplication(await load(id));
      // An absent field keeps the stored value; null (where allowed) clears it.
      const next: CreateApplicationBody = {
        name: input.name ?? current.name,
        redirectUris: input.redirectUris ?? current.redirectUris,
        defaultRedirectUri: input.defaultRedirectUri === undefined ? current.defaultRedirectUri : input.defaultRedirectUri,
        organizationIds: input.organizationIds === undefined ? current.organizationIds : input.organizationIds,
        requirePkce: input.requirePkce ?? current.requirePkce,
        postLogoutRedirectUris: input.postLogoutRedirectUris ?? current.postLogoutRedirectUris,
        backchannelLogoutUri: input.backchannelLogoutUri === undefined ? current.backchannelLogoutUri : input.backchannelLogoutUri,
      };
      // Turning PKCE back on drops the stored reason for the opt-out.
      next.pkceExemptReason =
        input.pkceExemptReason !== undefined ? input.pkceExemptReason : next.requirePkce ? null : current.pkceExemptReason;
      check(next);
      const now = clock();
      return db.transaction().execute(async (trx) => {
        const row = await updateApplication(trx, id, {
          name: next.name,
          redirect_uris: next.redirectUris,
          default_redirect_uri: next.defaultRedirectUri ?? null,
          organization_ids: next.organizationIds ?? null,
          require_pkce: next.requirePkce ?? true,
          pkce_exempt_reason: next.pkceExemptReason ?? null,
          post_logout_redirect_uris: next.postLogoutRedirectUris ?? [],
          backchannel_logout_uri: next.backchannelLogoutUri ?? null,
          updated_at: now,
        });
        await recordEvent(trx, { now, random }, actor, {
          type: 'application.updated',
          organizationId: null,
          summary: { applicationId: id, changed: Object.keys(input) },
        });
        return toApplication(row);
      });
    },

    async delete(actor: Actor, id: string): Promise<void> {
      requireAdmin(actor, 'manage applications');
      const app = await load(id);
      const now = clock();
      await db.transaction().execute(async (trx) => {
        await deleteApplication(trx, id);
        await recordEvent(trx, { now, random }, actor, {
          type: 'application.deleted',
          organizationId: null,
          summary: { applicationId: id, name: app.name },
        });
      });
    },

    /** The application with this id, for the login (no actor: the login acts for itself). */
    async findById(id: string): Promise<Application | undefined> {
      const row = await findApplication(db, id);
      return row === undefined ? undefined : toApplication(row);
    },

    /** The application with this client id, for the OAuth endpoints. */
    async findByClientId(clientId: string): Promise<Application | undefined> {
      const row = await byClientId(clientId);
      return row === undefined ? undefined : toApplication(row);
    },

    /** The application when `clientId` and `clientSecret` match, compared in constant time. */
    async authenticateClient(clientId: string, clientSecret: string): Promise<Application | undefined> {
      const row = await byClientId(clientId);
      if (row === undefined || !constantTimeEqual(row.client_secret_hash, hashToken(clientSecret))) return undefined;
      return toApplication(row);
    },
  };
}

export type { Application } from '../../http/schemas/applications.ts';

export type ApplicationService = ReturnType<typeof createApplicationService>;

/** True when `organizationId` may sign in to the application. */
export function allowsOrganization(app: Application, organizationId: string): boolean {
  return app.organizationIds === null || app.organizationIds.includes(organizationId);
}

function toApplication(row: ApplicationRow): Application {
  return {
    id: row.id,
    name: row.name,
    clientId: row.client_id,
    redirectUris: row.redirect_uris,
    defaultRedirectUri: row.default_redirect_uri,
    organizationIds: row.organization_ids,
    requirePkce: row.require_pkce,
    pkceExemptReason: row.pkce_exempt_reason,
    postLogoutRedirectUris: row.post_logout_redirect_uris,
    backchannelLogoutUri: row.backchannel_logout_uri,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
