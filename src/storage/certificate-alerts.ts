import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

/**
 * In the transaction that records the alert's event: claims the alert for this subject,
 * certificate and threshold. True for the one transaction that inserted the row; any other
 * (another instance noticing the same threshold) waits on the unique key, then gets false.
 */
export async function claimCertificateAlert(
  db: Kysely<Database>,
  alert: { subject: string; fingerprintSha256: string; thresholdDays: number; now: Date },
): Promise<boolean> {
  const inserted = await db
    .insertInto('certificate_alerts')
    .values({
      subject: alert.subject,
      fingerprint_sha256: alert.fingerprintSha256,
      threshold_days: alert.thresholdDays,
      created_at: alert.now,
    })
    .onConflict((oc) => oc.doNothing())
    .returning('subject')
    .executeTakeFirst();
  return inserted !== undefined;
}
