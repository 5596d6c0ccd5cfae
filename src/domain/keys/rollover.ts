import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import { parseCertificates } from '../../crypto/certificates.ts';
import type { Clock, RandomBytes } from '../../crypto/tokens.ts';
import { listPublishedDeploymentKeys, takeDueKeySteps } from '../../storage/deployment-keys.ts';
import type { Database, DeploymentKeyRow } from '../../storage/schema.ts';
import type { DeploymentKeyView, KeyPurpose } from '../../http/schemas/keys.ts';
import { requireAdmin, SYSTEM_ACTOR, type Actor } from '../actor.ts';
import { AppError } from '../errors.ts';
import { recordEvent } from '../events/events.ts';
import { createPeriodicWorker, type BackgroundWorker } from '../jobs/loop.ts';
import { createNudge } from '../jobs/nudge.ts';
import type { DeploymentKeys, GenerateKey } from './deployment-keys.ts';

/** Every purpose a deployment holds keys for, in the order rotations do them. */
export const KEY_PURPOSES = ['saml-sp', 'oidc-token-signing'] as const satisfies readonly KeyPurpose[];

export interface KeyRolloverDeps {
  readonly db: Kysely<Database>;
  readonly clock: Clock;
  readonly random: RandomBytes;
  readonly logger: Logger;
  readonly deploymentKeys: DeploymentKeys;
  readonly generators: Readonly<Record<KeyPurpose, GenerateKey>>;
  readonly config: Pick<Config, 'keyRolloverSeconds'>;
}

/**
 * Rotation of Lanyard's own keys without an outage (issue 16): the next key is published first
 * (SP metadata and JWKS list it beside the current one), signs from `LANYARD_KEY_ROLLOVER_SECONDS`
 * later, and the previous key is retired as long again after that. The switch follows from the
 * stored times on every instance at once; a worker records each step as an event, once.
 */
export function createKeyRollover(deps: KeyRolloverDeps) {
  const { db, clock, random } = deps;
  const delayMs = deps.config.keyRolloverSeconds * 1000;

  /** Records the activations and retirements whose time has come; returns how many. */
  async function step(): Promise<number> {
    return db.transaction().execute(async (trx) => {
      const now = clock();
      const { activated, retired } = await takeDueKeySteps(trx, now);
      for (const row of activated) {
        await recordEvent(trx, { now, random }, SYSTEM_ACTOR, {
          type: 'deployment_key.activated',
          organizationId: null,
          summary: stepSummary(row),
        });
      }
      for (const row of retired) {
        await recordEvent(trx, { now, random }, SYSTEM_ACTOR, {
          type: 'deployment_key.retired',
          organizationId: null,
          summary: stepSummary(row),
        });
      }
      return activated.length + retired.length;
    });
  }

  async function list(now: Date): Promise<DeploymentKeyView[]> {
    const views: DeploymentKeyView[] = [];
    for (const purpose of KEY_PURPOSES) {
      const rows = await listPublishedDeploymentKeys(db, purpose, now);
      const signing = rows.find((row) => row.activates_at === null || row.activates_at <= now);
      views.push(
        ...rows.map((row) =>
          toView(row, row === signing ? 'current' : row.activates_at !== null && row.activates_at > now ? 'next' : 'previous', now),
        ),
      );
    }
    return views;
  }

  return {
    /** `GET /v1/keys` (admin keys only): every published key of every purpose. */
    async list(actor: Actor): Promise<DeploymentKeyView[]> {
      requireAdmin(actor, 'see the deployment keys');
      return list(clock());
    },

    /**
     * `POST /v1/keys/rotate` and `lanyard keys rotate`: publishes the next key of each purpose
     * given (default all) with its `deployment_key.published` event, in one transaction. A 409
     * while a rollover of one of them is still waiting to sign.
     */
    async rotate(actor: Actor, purposes: readonly KeyPurpose[] = KEY_PURPOSES): Promise<DeploymentKeyView[]> {
      requireAdmin(actor, 'rotate the deployment keys');
      const chosen = [...new Set(purposes)];
      const generated = new Map<KeyPurpose, Awaited<ReturnType<GenerateKey>>>();
      for (const purpose of chosen) {
        // Keys are made on first use: a purpose never used yet gets its first key, then the next one.
        await deps.deploymentKeys.keySet(purpose, deps.generators[purpose]);
        generated.set(purpose, await deps.generators[purpose]()); // RSA generation stays out of the transaction
      }
      const now = clock();
      const activatesAt = new Date(now.getTime() + delayMs);
      const retiresAt = new Date(now.getTime() + 2 * delayMs);
      await db.transaction().execute(async (trx) => {
        for (const [purpose, key] of generated) {
          const published = await deps.deploymentKeys.publishNext(trx, purpose, key, { activatesAt, retiresAt });
          if (published === undefined) {
            throw new AppError('conflict', `a rotation of the ${purpose} key is under way: its next key does not sign yet`, [
              { field: 'purposes', message: `${purpose} is being rotated` },
            ]);
          }
          await recordEvent(trx, { now, random }, actor, {
            type: 'deployment_key.published',
            organizationId: null,
            summary: stepSummary(published.next),
          });
        }
      });
      deps.deploymentKeys.forget();
      return list(now);
    },

    worker: createPeriodicWorker({
      name: 'key rollover',
      step,
      pollIntervalMs: 60_000,
      logger: deps.logger,
      nudge: createNudge(),
    }) satisfies BackgroundWorker,
  };
}

export type KeyRollover = ReturnType<typeof createKeyRollover>;

function stepSummary(row: DeploymentKeyRow) {
  return {
    keyId: row.id,
    purpose: row.purpose,
    activatesAt: row.activates_at?.toISOString() ?? null,
    retiresAt: row.retired_at?.toISOString() ?? null,
  };
}

function toView(row: DeploymentKeyRow, state: DeploymentKeyView['state'], now: Date): DeploymentKeyView {
  const parsed = row.certificate_pem === null ? undefined : parseCertificates(row.certificate_pem, now);
  const certificate = parsed?.ok ? parsed.value[0] : undefined;
  return {
    id: row.id,
    purpose: row.purpose as KeyPurpose,
    state,
    createdAt: row.created_at.toISOString(),
    activatesAt: row.activates_at?.toISOString() ?? null,
    retiresAt: row.retired_at?.toISOString() ?? null,
    certificate: certificate === undefined ? null : { fingerprintSha256: certificate.fingerprintSha256, notAfter: certificate.notAfter },
  };
}
