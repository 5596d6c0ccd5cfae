import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { parseCertificates } from '../../crypto/certificates.ts';
import type { Clock, RandomBytes } from '../../crypto/tokens.ts';
import { claimCertificateAlert } from '../../storage/certificate-alerts.ts';
import { listEnabledSamlConnections } from '../../storage/connections.ts';
import { listPublishedDeploymentKeys } from '../../storage/deployment-keys.ts';
import type { Database } from '../../storage/schema.ts';
import { SYSTEM_ACTOR } from '../actor.ts';
import { recordEvent } from '../events/events.ts';
import { createPeriodicWorker, type BackgroundWorker } from '../jobs/loop.ts';
import { createNudge } from '../jobs/nudge.ts';
import { certificateStanding, type CertificateStanding, type ExpiringCertificate } from './certificate-expiry.ts';
import { describeCertificates } from './saml-config.ts';
import { SAML_SP_KEY_PURPOSE } from './sp.ts';
import { samlSettingsOf } from './view.ts';

const PAGE = 200;
// Thresholds are days apart, so an hourly look notices each one in time.
const POLL_MS = 3_600_000;

/**
 * The certificate expiry watch of every instance (issue 16): for each enabled SAML connection, and
 * for Lanyard's own SP certificate, the certificate that expires last is judged against the alert
 * thresholds, and the tightest one reached is recorded as an event once per certificate and
 * threshold, whichever instance notices first (a unique row claimed in the event's transaction).
 */
export function createExpiryWatch(deps: { db: Kysely<Database>; clock: Clock; random: RandomBytes; logger: Logger }) {
  const { db, clock, random } = deps;

  /** Records the alert `standing` calls for, unless some instance already did; true when this call did. */
  async function alert(
    subject: string,
    standing: CertificateStanding | undefined,
    record: (trx: Kysely<Database>, summary: ExpirySummary, now: Date) => Promise<unknown>,
  ): Promise<boolean> {
    if (standing === undefined || standing.threshold === null) return false;
    const { last, threshold, daysLeft } = standing;
    const now = clock();
    return db.transaction().execute(async (trx) => {
      const claimed = await claimCertificateAlert(trx, {
        subject,
        fingerprintSha256: last.fingerprintSha256,
        thresholdDays: threshold,
        now,
      });
      if (claimed)
        await record(trx, { fingerprintSha256: last.fingerprintSha256, notAfter: last.notAfter, daysLeft, thresholdDays: threshold }, now);
      return claimed;
    });
  }

  async function watchConnections(): Promise<number> {
    let sent = 0;
    for (let after = ''; ;) {
      const rows = await listEnabledSamlConnections(db, after, PAGE);
      for (const row of rows) {
        const settings = samlSettingsOf(row);
        if (settings === undefined) continue;
        const now = clock();
        const standing = certificateStanding(describeCertificates(settings, now), now);
        const recorded = await alert(row.id, standing, (trx, summary, at) =>
          recordEvent(trx, { now: at, random }, SYSTEM_ACTOR, {
            type: standing?.status === 'expired' ? 'connection.certificate_expired' : 'connection.certificate_expiring',
            organizationId: row.organization_id,
            summary: { connectionId: row.id, ...summary },
          }),
        );
        if (recorded) sent++;
      }
      const last = rows.at(-1);
      if (last === undefined || rows.length < PAGE) return sent;
      after = last.id;
    }
  }

  /** Lanyard's SP certificate is judged like an IdP's: by the published one that expires last. */
  async function watchSpCertificate(): Promise<number> {
    const now = clock();
    const keys = await listPublishedDeploymentKeys(db, SAML_SP_KEY_PURPOSE, now);
    const certificates: (ExpiringCertificate & { keyId: string })[] = keys.flatMap((key) => {
      const parsed = key.certificate_pem === null ? undefined : parseCertificates(key.certificate_pem, now);
      const info = parsed?.ok ? parsed.value[0] : undefined;
      return info === undefined ? [] : [{ ...info, keyId: key.id }];
    });
    const standing = certificateStanding(certificates, now);
    const keyId = certificates.find((c) => c.fingerprintSha256 === standing?.last.fingerprintSha256)?.keyId ?? '';
    const recorded = await alert(`deployment:${SAML_SP_KEY_PURPOSE}`, standing, (trx, summary, at) =>
      recordEvent(trx, { now: at, random }, SYSTEM_ACTOR, {
        type: standing?.status === 'expired' ? 'deployment_key.certificate_expired' : 'deployment_key.certificate_expiring',
        organizationId: null,
        summary: { keyId, ...summary },
      }),
    );
    return recorded ? 1 : 0;
  }

  /** One look at every certificate; returns how many alerts it recorded. */
  async function step(): Promise<number> {
    return (await watchConnections()) + (await watchSpCertificate());
  }

  return {
    worker: createPeriodicWorker({
      name: 'certificate expiry watch',
      step,
      pollIntervalMs: POLL_MS,
      logger: deps.logger,
      nudge: createNudge(),
    }) satisfies BackgroundWorker,
  };
}

interface ExpirySummary {
  fingerprintSha256: string;
  notAfter: string;
  daysLeft: number;
  thresholdDays: number;
}
