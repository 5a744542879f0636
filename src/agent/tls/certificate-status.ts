// The agent's own certificate as `host info` and the start-up log show it: its subject, its end
// (notAfter) and a warning naming the fix once fewer than 30 days remain. Read from the file
// each time, since QEMU's tls-creds-x509 reads the file at each migration too.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from 'pino';
import type { CertificateStatus } from '../../protocol/host.js';
import { certificateValidity } from '../../credentials/validity.js';

export function certificateStatus(certFile: string, hostName: string, nowMs = Date.now()): CertificateStatus {
  let v;
  try {
    v = certificateValidity(readFileSync(certFile), nowMs);
  } catch (e) {
    return { file: certFile, warning: `cannot read the certificate ${certFile}: ${(e as Error).message}` };
  }
  const status: CertificateStatus = {
    file: certFile,
    subject: v.subject,
    notAfter: v.notAfter,
    daysLeft: v.daysLeft,
  };
  if (!v.expiresSoon) return status;
  const when =
    v.daysLeft < 0 ? `expired on ${v.notAfter}` : `expires on ${v.notAfter} (${v.daysLeft} days left)`;
  return {
    ...status,
    warning: `the certificate ${certFile} ${when}: renew it with \`vmhop ca renew ${hostName} --out ${dirname(certFile)}\` on the CA's machine, copy the folder here and restart vmhop-agent`,
  };
}

/** Logs the certificate's end at start, and a warning then and daily once fewer than 30 days remain. */
export function watchCertificate(certFile: string, hostName: string, log: Logger): void {
  const cert = certificateStatus(certFile, hostName);
  if (cert.warning) log.warn({ certificate: cert }, cert.warning);
  else
    log.info({ certificate: cert.file, notAfter: cert.notAfter, daysLeft: cert.daysLeft }, 'TLS certificate');
  // An agent that runs for months would otherwise warn only at its start.
  setInterval(() => {
    const later = certificateStatus(certFile, hostName);
    if (later.warning) log.warn({ certificate: later }, later.warning);
  }, 86_400_000).unref();
}
