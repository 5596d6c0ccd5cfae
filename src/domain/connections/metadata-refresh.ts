import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import { randomToken, type Clock, type RandomBytes } from '../../crypto/tokens.ts';
import type { Lookup } from '../../net/guarded-fetch.ts';
import { findConnection, findConnectionForUpdate, updateConnection } from '../../storage/connections.ts';
import * as store from '../../storage/metadata-refreshes.ts';
import type { ConnectionMetadataRefreshRow, Database } from '../../storage/schema.ts';
import { canSee, SYSTEM_ACTOR, type Actor } from '../actor.ts';
import { AppError, notFound } from '../errors.ts';
import { recordEvent } from '../events/events.ts';
import { createPeriodicWorker, type BackgroundWorker } from '../jobs/loop.ts';
import { createNudge } from '../jobs/nudge.ts';
import { describeCertificates, fetchMetadataUrl, refreshedSamlSettings, type SamlSettings } from './saml-config.ts';
import { jittered, nextRefreshSeconds, retrySeconds } from './refresh-schedule.ts';
import { samlSettingsOf } from './view.ts';

export interface MetadataRefreshDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly lookup: Lookup;
  readonly logger: Logger;
  readonly config: Pick<Config, 'allowPrivateMetadataUrls' | 'metadataRefreshSeconds'>;
}

/** What one refresh came to, as `lastRefresh` shows it. */
export interface RefreshResult {
  outcome: 'updated' | 'unchanged' | 'not_modified' | 'failed';
  message: string | null;
}

// The fetch is bounded to 5 s; the lease leaves room for the database work around it.
const LEASE_MS = 60_000;
const BATCH = 20;
const IDP_VALUES = ['idpEntityId', 'ssoUrl', 'ssoBinding', 'sloUrl', 'signRequests'] as const;

/**
 * Keeps SAML connections with a metadata URL in step with what their IdP publishes (issue 16):
 * each connection's row is claimed by one instance at a time, fetched through the outbound guard
 * with its HTTP validators, and the new IdP values written with an event. A failure never changes
 * the connection: it is recorded on the row (`lastRefresh`), as an event, and retried with backoff.
 */
export function createMetadataRefresh(deps: MetadataRefreshDeps) {
  const { db, clock, random, config } = deps;
  const token = `mrf_${randomToken(random, 12)}`;
  const interval = config.metadataRefreshSeconds;

  async function fetchClaimed(claimed: ConnectionMetadataRefreshRow) {
    return fetchMetadataUrl(
      {
        url: claimed.metadata_url,
        allowPrivateAddresses: config.allowPrivateMetadataUrls,
        conditional: { etag: claimed.etag ?? undefined, lastModified: claimed.last_modified ?? undefined },
      },
      deps,
    );
  }

  /** Fetches and applies one claimed refresh, then records how it went. */
  async function run(claimed: ConnectionMetadataRefreshRow): Promise<RefreshResult> {
    const fetched = await fetchClaimed(claimed);
    if (!fetched.ok) return fail(claimed, fetched.error.code, fetched.error.message);
    const { caching } = fetched.value;
    const success = async (result: RefreshResult): Promise<RefreshResult> => {
      const now = clock();
      await store.finishRefresh(db, claimed.connection_id, token, {
        nextRunAt: jittered(now, nextRefreshSeconds(interval, caching.cacheControl), random),
        failures: 0,
        etag: caching.etag ?? null,
        lastModified: caching.lastModified ?? null,
        at: now,
        ...result,
      });
      return result;
    };
    if (fetched.value.notModified) return success({ outcome: 'not_modified', message: null });
    const applied = await apply(claimed, fetched.value.xml);
    if ('failure' in applied) return fail(claimed, applied.failure.code, applied.failure.message);
    return success(applied);
  }

  /** Writes the IdP values the metadata publishes, in one transaction with the event; or says why not. */
  async function apply(
    claimed: ConnectionMetadataRefreshRow,
    xml: string,
  ): Promise<RefreshResult | { failure: { code: string; message: string } }> {
    return db.transaction().execute(async (trx) => {
      const row = await findConnectionForUpdate(trx, claimed.connection_id);
      const stored = row === undefined ? undefined : samlSettingsOf(row);
      // Changed by hand (or deleted) since the claim: the URL no longer speaks for this connection.
      if (row === undefined || stored === undefined || stored.metadataUrl !== claimed.metadata_url) {
        return { outcome: 'unchanged', message: 'the connection no longer takes its values from this URL' } as const;
      }
      const refreshed = refreshedSamlSettings(stored, xml);
      if (!refreshed.ok)
        return { failure: { code: refreshed.error.code, message: `The metadata is not usable: ${refreshed.error.message}` } };
      const now = clock();
      const change = describeChange(stored, refreshed.value, now);
      if (change.changed.length === 0) return { outcome: 'unchanged', message: null } as const;
      await updateConnection(trx, row.id, row.updated_at, { settings: refreshed.value, updated_at: now });
      await recordEvent(trx, { now, random }, SYSTEM_ACTOR, {
        type: 'connection.metadata_refreshed',
        organizationId: row.organization_id,
        summary: { connectionId: row.id, ...change },
      });
      return { outcome: 'updated', message: `changed: ${change.changed.join(', ')}` } as const;
    });
  }

  async function fail(claimed: ConnectionMetadataRefreshRow, code: string, message: string): Promise<RefreshResult> {
    const now = clock();
    const failures = claimed.failures + 1;
    const nextRunAt = jittered(now, retrySeconds(interval, failures), random);
    await db.transaction().execute(async (trx) => {
      const recorded = await store.finishRefresh(trx, claimed.connection_id, token, {
        nextRunAt,
        failures,
        // The validators of the last document used stay: it is still what the connection holds.
        etag: claimed.etag,
        lastModified: claimed.last_modified,
        at: now,
        outcome: 'failed',
        message,
      });
      const row = recorded ? await findConnection(trx, claimed.connection_id) : undefined;
      if (row === undefined) return;
      await recordEvent(trx, { now, random }, SYSTEM_ACTOR, {
        type: 'connection.metadata_refresh_failed',
        organizationId: row.organization_id,
        summary: { connectionId: row.id, code, message, failures, nextAttemptAt: nextRunAt.toISOString() },
      });
    });
    deps.logger.warn({ connectionId: claimed.connection_id, code, failures }, 'metadata refresh failed');
    return { outcome: 'failed', message };
  }

  /** One claim-and-refresh round; returns how many refreshes it did. */
  async function step(): Promise<number> {
    const now = clock();
    const claimed = await store.claimDueRefreshes(db, { now, leaseUntil: new Date(now.getTime() + LEASE_MS), token, limit: BATCH });
    for (const refresh of claimed) {
      try {
        await run(refresh);
      } catch (error) {
        // The database went away, most likely; the lease brings the refresh back.
        deps.logger.error({ err: error, connectionId: refresh.connection_id }, 'metadata refresh could not be recorded');
      }
    }
    return claimed.length;
  }

  return {
    /** The background worker of every instance; idle ones look for due refreshes every 30 s. */
    worker: createPeriodicWorker({
      name: 'metadata refresh',
      step,
      pollIntervalMs: 30_000,
      logger: deps.logger,
      nudge: createNudge(),
    }) satisfies BackgroundWorker,

    /**
     * `POST /v1/connections/{id}/refresh`: refreshes now (an organization key: its own connections
     * only). A failure is recorded like a background one, then answered 422.
     */
    async refreshNow(actor: Actor, connectionId: string): Promise<RefreshResult> {
      const row = await findConnection(db, connectionId);
      if (row === undefined || !canSee(actor, row.organization_id)) throw notFound('connection');
      if (samlSettingsOf(row)?.metadataUrl == null) {
        throw new AppError('no_metadata_url', 'the connection has no saml.metadataUrl to refresh from', [
          { field: 'saml.metadataUrl', message: 'is not set' },
        ]);
      }
      const now = clock();
      const claimed = await store.claimRefreshNow(db, { connectionId, now, leaseUntil: new Date(now.getTime() + LEASE_MS), token });
      if (claimed === undefined) throw new AppError('conflict', 'a refresh of this connection is running; try again in a minute');
      const result = await run(claimed);
      if (result.outcome === 'failed') {
        throw new AppError('metadata_fetch_failed', `saml.metadataUrl could not be refreshed: ${result.message ?? ''}`, [
          { field: 'saml.metadataUrl', message: result.message ?? 'failed' },
        ]);
      }
      return result;
    },
  };
}

export type MetadataRefresh = ReturnType<typeof createMetadataRefresh>;

/** What a refresh changes: the names of the IdP values, and the certificates by fingerprint. */
function describeChange(before: SamlSettings, after: SamlSettings, now: Date) {
  const fingerprints = (settings: SamlSettings) => describeCertificates(settings, now).map((c) => c.fingerprintSha256);
  const old = fingerprints(before);
  const next = fingerprints(after);
  const certificatesAdded = next.filter((f) => !old.includes(f));
  const certificatesRemoved = old.filter((f) => !next.includes(f));
  const changed: string[] = IDP_VALUES.filter((key) => before[key] !== after[key]).map((key) => `saml.${key}`);
  if (certificatesAdded.length > 0 || certificatesRemoved.length > 0) changed.push('saml.certificates');
  return { changed, certificatesAdded, certificatesRemoved };
}
