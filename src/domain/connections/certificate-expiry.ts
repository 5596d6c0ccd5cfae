/** Days before the last certificate expires at which an alert goes out (issue 16); 0 stands for "expired". */
export const EXPIRY_THRESHOLDS_DAYS = [30, 14, 7, 1] as const;

const DAY_MS = 86_400_000;

/** A certificate as the expiry check needs it. */
export interface ExpiringCertificate {
  fingerprintSha256: string;
  notAfter: string;
}

/** How a set of certificates stands: the one that expires last, and what its expiry means now. */
export interface CertificateStanding {
  status: 'ok' | 'expiring' | 'expired';
  /** Whole days until the last certificate expires; 0 once it has. */
  daysLeft: number;
  /** The certificate that expires last: while it is valid, signatures can still be verified. */
  last: ExpiringCertificate;
  /** The tightest alert threshold reached (30, 14, 7, 1, or 0 once expired); null before 30 days. */
  threshold: number | null;
}

/**
 * Judges certificates by the one that expires last: an IdP rolling over publishes the next one
 * before the current one expires, so only when the last one runs out do sign-ins stop.
 * Undefined when there are none.
 */
export function certificateStanding(certificates: readonly ExpiringCertificate[], now: Date): CertificateStanding | undefined {
  const last = certificates.reduce<ExpiringCertificate | undefined>(
    (latest, c) => (latest === undefined || Date.parse(c.notAfter) > Date.parse(latest.notAfter) ? c : latest),
    undefined,
  );
  if (last === undefined) return undefined;
  const leftMs = Date.parse(last.notAfter) - now.getTime();
  if (leftMs <= 0) return { status: 'expired', daysLeft: 0, last, threshold: 0 };
  const reached = EXPIRY_THRESHOLDS_DAYS.filter((days) => leftMs <= days * DAY_MS);
  const threshold = reached.length === 0 ? null : Math.min(...reached);
  return { status: threshold === null ? 'ok' : 'expiring', daysLeft: Math.floor(leftMs / DAY_MS), last, threshold };
}
