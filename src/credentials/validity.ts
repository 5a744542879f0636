// How long a certificate remains valid, read with node:crypto alone (no certificate library), so
// the agent can report and warn about its own certificate's end without loading the CA code.
import { X509Certificate } from 'node:crypto';

/** Fewer days left than this and `host info` and the agent's start-up log warn. */
export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

export interface CertificateValidity {
  subject: string;
  /** ISO 8601, UTC. */
  notAfter: string;
  /** Whole days until notAfter; negative once it has passed. */
  daysLeft: number;
  expiresSoon: boolean;
}

export function certificateValidity(pem: string | Buffer, nowMs = Date.now()): CertificateValidity {
  const cert = new X509Certificate(pem);
  const end = new Date(cert.validTo).getTime();
  const daysLeft = Math.floor((end - nowMs) / DAY_MS);
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    notAfter: new Date(end).toISOString(),
    daysLeft,
    expiresSoon: daysLeft < EXPIRY_WARNING_DAYS,
  };
}
