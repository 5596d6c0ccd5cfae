import { domainToASCII } from 'node:url';
import type { Kysely, Transaction } from 'kysely';
import type { Config } from '../../config.ts';
import type { Sealer } from '../../crypto/seal.ts';
import { newId, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import type { Lookup } from '../../net/guarded-fetch.ts';
import {
  deleteConnection,
  findConnection,
  findConnectionForUpdate,
  findEnabledConnections,
  insertConnection,
  listConnections,
  updateConnection,
} from '../../storage/connections.ts';
import { findApplication } from '../../storage/applications.ts';
import { findRefreshes, scheduleMetadataRefresh } from '../../storage/metadata-refreshes.ts';
import { organizationExists } from '../../storage/organizations.ts';
import { decodeCursor, toPage, type Page } from '../../storage/pagination.ts';
import { readCacheOf } from '../../storage/read-cache.ts';
import type { ConnectionRow, Database } from '../../storage/schema.ts';
import type { CreateConnectionBody, ListConnectionsQuery, UpdateConnectionBody } from '../../http/schemas/connections.ts';
import { canSee, type Actor } from '../actor.ts';
import { AppError, notFound } from '../errors.ts';
import { recordEvent } from '../events/events.ts';
import { connectionSecretContext, toConnectionForLogin, type ConnectionForLogin } from './for-login.ts';
import { fieldError } from './input-checks.ts';
import { resolveOidcSettings, type OidcSettings } from './oidc-config.ts';
import { discoverOidcProvider } from './oidc-discovery.ts';
import { mergeOverrides, parseProvider, PRESETS, type Provider } from './presets.ts';
import { fetchMetadataUrl, resolveSamlSettings, type SamlSettings } from './saml-config.ts';
import { jittered } from './refresh-schedule.ts';
import { isComplete, oidcSettingsOf, samlSettingsOf, toConnection, type Connection } from './view.ts';

export type { Connection } from './view.ts';
export type { ConnectionForLogin } from './for-login.ts';

/** What the connection service uses, and nothing more. */
export interface ConnectionServiceDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly sealer: Sealer;
  /** Name resolution for metadata URLs and OIDC discovery (checked against the address policy). */
  readonly lookup: Lookup;
  readonly config: Pick<Config, 'publicUrl' | 'allowPrivateMetadataUrls' | 'metadataRefreshSeconds'>;
}

/**
 * SSO connections: each organization's SAML and OIDC identity providers. Organization keys see
 * only their own organization's connections; every change writes an event in its transaction.
 * Remote documents (metadata URLs, OIDC discovery) are fetched before the transaction opens.
 */
export function createConnectionService(deps: ConnectionServiceDeps) {
  const { db, clock, random, sealer, config } = deps;
  const readCache = readCacheOf(db);
  const guard = { allowPrivateAddresses: config.allowPrivateMetadataUrls };
  const remote = {
    fetchMetadata: (url: string) => fetchMetadataUrl({ url, ...guard }, deps),
    discover: (issuer: string) => discoverOidcProvider(issuer, guard, deps),
  };
  /** The answers for these rows, each with its metadata refresh state. */
  async function views(rows: readonly ConnectionRow[]): Promise<Connection[]> {
    const refreshes = new Map(
      (
        await findRefreshes(
          db,
          rows.map((r) => r.id),
        )
      ).map((r) => [r.connection_id, r]),
    );
    const now = clock();
    return rows.map((row) => toConnection(row, config.publicUrl, now, refreshes.get(row.id)));
  }
  async function view(row: ConnectionRow): Promise<Connection> {
    const refreshes = await findRefreshes(db, [row.id]);
    return toConnection(row, config.publicUrl, clock(), refreshes[0]);
  }

  async function loadVisible(trx: Kysely<Database>, actor: Actor, id: string): Promise<ConnectionRow> {
    const row = await findConnection(trx, id);
    if (row === undefined || !canSee(actor, row.organization_id)) throw notFound('connection');
    return row;
  }

  async function requireOrganization(trx: Kysely<Database>, actor: Actor, organizationId: string): Promise<void> {
    // Unknown and not-yours read the same, so an organization key learns nothing about other ids.
    if (!(await organizationExists(trx, organizationId)) || !canSee(actor, organizationId)) {
      throw new AppError('not_found', 'organization not found', [{ field: 'organizationId', message: 'no such organization' }]);
    }
  }

  /** The protocol settings for `type` from the request and the stored row, remote documents fetched. */
  async function resolveSettings(
    type: 'saml' | 'oidc',
    organizationId: string,
    input: UpdateConnectionBody,
    existing?: ConnectionRow,
  ): Promise<{ settings: SamlSettings | OidcSettings; secret: string | undefined }> {
    const other = type === 'saml' ? 'oidc' : 'saml';
    if (input[other] !== undefined) throw fieldError(other, `is only for type ${other} connections; this one is ${type}`);
    if (type === 'saml') {
      await requireDefaultApplication(organizationId, input.saml?.defaultApplicationId);
      return {
        settings: await resolveSamlSettings(input.saml ?? {}, existing === undefined ? undefined : samlSettingsOf(existing), remote),
        secret: undefined,
      };
    }
    const oidc = await resolveOidcSettings(
      input.oidc ?? {},
      existing === undefined ? undefined : oidcSettingsOf(existing),
      (existing?.sealed_secret ?? null) !== null,
      remote,
    );
    return { settings: oidc.settings, secret: oidc.clientSecret };
  }

  /**
   * A defaultApplicationId given now must name an application that may serve the organization and
   * has a defaultRedirectUri, where an IdP-initiated login lands (../shared/API.md); otherwise the
   * mistake would only show at the first IdP-initiated sign-in. (An application deleted later is
   * reported by that sign-in's failure page.)
   */
  async function requireDefaultApplication(organizationId: string, applicationId: string | null | undefined): Promise<void> {
    if (applicationId === undefined || applicationId === null) return;
    const application = await findApplication(db, applicationId);
    const allowed =
      application !== undefined && (application.organization_ids === null || application.organization_ids.includes(organizationId));
    if (!allowed) throw fieldError('saml.defaultApplicationId', 'names no application that may serve this organization');
    if (application.default_redirect_uri === null)
      throw fieldError('saml.defaultApplicationId', 'names an application without a defaultRedirectUri, where IdP-initiated logins land');
  }

  /** A connection with a metadata URL is refreshed from it in the background (metadata-refresh.ts); its row is written here. */
  async function scheduleRefresh(trx: Kysely<Database>, row: ConnectionRow, now: Date): Promise<void> {
    const url = samlSettingsOf(row)?.metadataUrl ?? null;
    await scheduleMetadataRefresh(trx, row.id, url, jittered(now, config.metadataRefreshSeconds, random));
  }

  function requireEnableable(enabled: boolean, type: 'saml' | 'oidc', complete: boolean): void {
    const needed =
      type === 'saml'
        ? 'IdP values (saml.metadataXml, saml.metadataUrl, or idpEntityId, ssoUrl and certificates)'
        : 'oidc.issuer, clientId and clientSecret';
    if (enabled && !complete) throw fieldError('enabled', `cannot be true until the ${needed} are given`);
  }

  return {
    /** Creates a connection; enabled by default when it is complete (it has its IdP values), else a draft. */
    async create(actor: Actor, input: CreateConnectionBody): Promise<Connection> {
      const provider = parseProvider(input.provider ?? 'generic');
      await requireOrganization(db, actor, input.organizationId);
      const { settings, secret } = await resolveSettings(input.type, input.organizationId, input);
      const now = clock();
      const id = newId('conn', now, random);
      const sealed = secret === undefined ? null : sealer.seal(secret, connectionSecretContext(id));
      const complete = isComplete(settings, sealed !== null);
      const enabled = input.enabled ?? complete;
      requireEnableable(enabled, input.type, complete);
      const name = input.name ?? `${PRESETS[provider].label} ${input.type.toUpperCase()}`;
      const row = await db.transaction().execute(async (trx) => {
        await requireOrganization(trx, actor, input.organizationId);
        const inserted = await insertConnection(trx, {
          id,
          organization_id: input.organizationId,
          type: input.type,
          provider,
          name,
          enabled,
          state: 'draft',
          settings,
          sealed_secret: sealed,
          attribute_mapping: mergeOverrides({}, input.attributeMapping ?? {}),
          group_sync: input.groupSync ?? false,
          email_domain_policy: input.emailDomainPolicy ?? 'flag',
          created_at: now,
          updated_at: now,
        });
        await scheduleRefresh(trx, inserted, now);
        const summary = { connectionId: id, type: input.type, provider, name, enabled };
        await recordEvent(trx, { now, random }, actor, { type: 'connection.created', organizationId: input.organizationId, summary });
        return inserted;
      });
      return view(row);
    },

    async get(actor: Actor, id: string): Promise<Connection> {
      return view(await loadVisible(db, actor, id));
    },

    /** Connections in creation order; an organization key sees only its own organization's. */
    async list(actor: Actor, query: ListConnectionsQuery): Promise<Page<Connection>> {
      const after = decodeCursor(query.cursor);
      if (actor.organizationId !== null && query.organizationId !== undefined && query.organizationId !== actor.organizationId) {
        return { data: [], nextCursor: null };
      }
      const rows = await listConnections(db, {
        organizationId: actor.organizationId ?? query.organizationId,
        type: query.type,
        after,
        limit: query.limit,
      });
      const page = toPage(rows, query.limit, (row) => row);
      return { data: await views(page.data), nextCursor: page.nextCursor };
    },

    /**
     * Changes the given fields. `saml` and `oidc` merge into what is stored; a metadataUrl is
     * fetched again and an issuer discovered again whenever given, so PATCHing the same value refreshes.
     */
    async update(actor: Actor, id: string, input: UpdateConnectionBody): Promise<Connection> {
      const row = await loadVisible(db, actor, id);
      const provider: Provider = input.provider === undefined ? (row.provider as Provider) : parseProvider(input.provider);
      const { settings, secret } = await resolveSettings(row.type, row.organization_id, input, row);
      const sealed = secret === undefined ? row.sealed_secret : sealer.seal(secret, connectionSecretContext(id));
      const enabled = input.enabled ?? row.enabled;
      requireEnableable(enabled, row.type, isComplete(settings, sealed !== null));
      const now = clock();
      const updated = await db.transaction().execute(async (trx) => {
        const next = await updateConnection(trx, id, row.updated_at, {
          provider,
          enabled,
          settings,
          sealed_secret: sealed,
          attribute_mapping:
            input.attributeMapping === undefined ? row.attribute_mapping : mergeOverrides(row.attribute_mapping, input.attributeMapping),
          updated_at: now,
          ...(input.name !== undefined ? { name: input.name } : {}),
          ...(input.groupSync !== undefined ? { group_sync: input.groupSync } : {}),
          ...(input.emailDomainPolicy !== undefined ? { email_domain_policy: input.emailDomainPolicy } : {}),
        });
        if (next === undefined) {
          await loadVisible(trx, actor, id);
          throw new AppError('conflict', 'the connection was changed by another request meanwhile; read it again and retry');
        }
        await scheduleRefresh(trx, next, now);
        await recordEvent(trx, { now, random }, actor, {
          type: 'connection.updated',
          organizationId: row.organization_id,
          summary: { connectionId: id, changed: changedFields(input) },
        });
        return next;
      });
      return view(updated);
    },

    /**
     * Sets a SAML connection's trusted IdP signing certificates (a certificate-renewal ticket) and
     * where its IdP values are refreshed from from now on (null: nowhere, as for certificates given
     * by hand), with its `connection.updated` event. Refused with a 409 when the connection changed
     * since `expectedUpdatedAt` (what the caller checked); `alongside` runs in the same transaction.
     */
    async renewCertificates(
      actor: Actor,
      id: string,
      change: { certificates: readonly string[]; metadataUrl: string | null; expectedUpdatedAt: Date },
      alongside?: (trx: Transaction<Database>) => Promise<void>,
    ): Promise<Connection> {
      const now = clock();
      const updated = await db.transaction().execute(async (trx) => {
        const row = await findConnectionForUpdate(trx, id);
        if (row === undefined || !canSee(actor, row.organization_id)) throw notFound('connection');
        const stored = samlSettingsOf(row);
        if (stored === undefined || change.certificates.length === 0) throw fieldError('saml.certificates', 'cannot be renewed here');
        if (row.updated_at.getTime() !== change.expectedUpdatedAt.getTime())
          throw new AppError('conflict', 'the connection was changed meanwhile', [
            { field: 'renew', message: 'the connection was changed meanwhile (a metadata refresh or an edit): test again' },
          ]);
        const settings: SamlSettings = { ...stored, certificates: [...change.certificates], metadataUrl: change.metadataUrl };
        const next = await updateConnection(trx, id, row.updated_at, { settings, updated_at: now });
        if (next === undefined) throw new AppError('conflict', 'the connection was changed by another request meanwhile');
        await scheduleRefresh(trx, next, now);
        const changed = ['saml.certificates', ...(stored.metadataUrl !== change.metadataUrl ? ['saml.metadataUrl'] : [])];
        await recordEvent(trx, { now, random }, actor, {
          type: 'connection.updated',
          organizationId: row.organization_id,
          summary: { connectionId: id, changed },
        });
        await alongside?.(trx);
        return next;
      });
      return view(updated);
    },

    /** Deletes the connection (and its replay-cache entries); its SP values stop working at once. */
    async delete(actor: Actor, id: string): Promise<void> {
      const now = clock();
      await db.transaction().execute(async (trx) => {
        const row = await loadVisible(trx, actor, id);
        await deleteConnection(trx, id);
        await recordEvent(trx, { now, random }, actor, {
          type: 'connection.deleted',
          organizationId: row.organization_id,
          summary: { connectionId: id, type: row.type, name: row.name },
        });
      });
    },

    /** For the login code: one connection, enabled or not, with its secret opened; undefined when unknown. */
    async getForLogin(connectionId: string): Promise<ConnectionForLogin | undefined> {
      // On every authorize and ACS: from memory, secret opened and certificates parsed once (storage/read-cache.ts).
      return readCache.get(`connection:${connectionId}`, async () => {
        const row = await findConnection(db, connectionId);
        return row === undefined ? undefined : toConnectionForLogin(row, { publicUrl: config.publicUrl, sealer });
      });
    },

    /**
     * For the login code: the enabled connections matching every criterion given (an email domain
     * through the organizations' domains), oldest first; none when no criterion is given.
     */
    async resolveForLogin(criteria: { connectionId?: string; organizationId?: string; domain?: string }): Promise<ConnectionForLogin[]> {
      const domain = criteria.domain === undefined ? undefined : domainToASCII(criteria.domain.trim().toLowerCase().replace(/\.$/, ''));
      if (domain === '' || (criteria.connectionId === undefined && criteria.organizationId === undefined && domain === undefined))
        return [];
      const query = { connectionId: criteria.connectionId, organizationId: criteria.organizationId, domain };
      // On every authorize: from memory, like getForLogin (domains are watched too).
      return readCache.get(`connections-for:${JSON.stringify(query)}`, async () => {
        const rows = await findEnabledConnections(db, query);
        return rows.map((row) => toConnectionForLogin(row, { publicUrl: config.publicUrl, sealer }));
      });
    },
  };
}

/** The connection service: management CRUD and the login reads (getForLogin, resolveForLogin). */
export type ConnectionService = ReturnType<typeof createConnectionService>;

/** The names of what a change touched (never values: a client secret must not reach the event log). */
function changedFields(input: UpdateConnectionBody): string[] {
  const changed: string[] = [];
  const entries: [string, unknown][] = Object.entries(input);
  for (const [key, value] of entries) {
    if (value === undefined) continue;
    if ((key === 'saml' || key === 'oidc') && typeof value === 'object' && value !== null) {
      changed.push(
        ...Object.keys(value)
          .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
          .map((k) => `${key}.${k}`),
      );
    } else changed.push(key);
  }
  return changed;
}
